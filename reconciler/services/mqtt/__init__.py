"""The spec's `cloud.mqtt` as the agent's uplink: status, reported state, apply events and
telemetry out, sync triggers in, store-and-forward while the broker is away. paho-mqtt is
imported only when a connection is configured, so devices without one never load it.

Message topics and payloads: the MQTT section of the README and schemas/mqtt-messages.schema.json.
"""
