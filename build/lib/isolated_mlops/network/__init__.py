"""The network: two VNets peered both ways, subnets with NSGs and NAT egress, private DNS, Bastion."""
