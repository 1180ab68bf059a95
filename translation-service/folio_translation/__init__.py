"""translation-service: owns translation jobs and their segments (schema ``translation``)."""
