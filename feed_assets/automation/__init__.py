"""Jobs, schedules and sensors: how and when the assets run."""
