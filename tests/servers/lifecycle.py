"""What every test server fixture shares: started and stopped as a context manager that always
cleans up, also when the start-up itself fails half-way (a server left running, a system user
left behind, would leak into the next test session)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ServerFixture(Generic[T]):
    """``with Server() as handle:`` — ``start()`` returns what the tests use; ``stop()`` undoes
    whatever ``start()`` got to, and is called on a failed start as well as at the end."""

    def start(self) -> T:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> T:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()
