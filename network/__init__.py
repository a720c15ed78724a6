"""The network: two VNets peered both ways, subnets with NSGs and NAT egress, private DNS, Bastion."""

# A package of modules: import the public names from each module (their `__all__`, README "Using the library").
__all__: list[str] = []
