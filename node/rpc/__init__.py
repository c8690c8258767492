"""gRPC transport: the only package that imports ``grpc`` or generated code."""
