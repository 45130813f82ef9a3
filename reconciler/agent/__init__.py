"""The GitOps agent: sources, the reconcile loop, trust checks, status."""
