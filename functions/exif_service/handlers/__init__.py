"""One module per Lambda function; each wires only its own router or event handler."""
