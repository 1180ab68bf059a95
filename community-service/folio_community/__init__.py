"""community-service: owns the reader community (schema ``community``)."""
