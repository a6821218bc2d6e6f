"""A fake of Firebase Cloud Messaging's HTTP v1 API on loopback, for the tests, the benchmark
and `make fake-fcm`."""

from tests.fakes.fcm.server import FCM_ERROR_TYPE, FakeFcm, StaticCredential, service_account

__all__ = ["FCM_ERROR_TYPE", "FakeFcm", "StaticCredential", "service_account"]
