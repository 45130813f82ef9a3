"""Services the agent itself runs on every backend (the Modbus slave and master, ...)."""
