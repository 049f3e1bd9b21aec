"""exif-service: read, strip and write media metadata over three compatible HTTP APIs."""
