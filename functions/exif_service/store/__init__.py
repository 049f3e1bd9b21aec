"""Adapters to DynamoDB (pynamodb) and S3 (boto3); the only code that imports them."""
