"""GitOps reconciler for industrial edge devices."""

__version__ = "0.1.0"
