"""How the platform delivers itself: the branch->stack rule and the helpers the CI workflows call."""
