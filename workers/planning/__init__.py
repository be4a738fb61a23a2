"""PURE: desired rows + observed Kafka state -> plans (topic diff, ACL set difference, SCRAM
users). No I/O library may be imported here (import-linter enforces it)."""
