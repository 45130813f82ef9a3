"""The portal backend: a unit driven through its platform-portal REST API (httpx)."""
