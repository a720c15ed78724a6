"""How the platform delivers itself: the branch->stack table (branches.yaml, stack_for_ref.py), which
stacks a pull request affects (affected_stacks.py), and the one PR comment (pr_comment.py)."""
