"""The only code that runs ExifTool or decodes pixels."""
