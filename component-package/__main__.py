"""The component package's entry point: Pulumi runs it when a program in another language uses the
package. It serves every public component (isolated_mlops/component_package.py COMPONENTS)."""

from isolated_mlops.component_package import serve

if __name__ == "__main__":
    serve()
