"""The one error type user input can raise: a message a person can act on, never a traceback."""


class CommandError(Exception):
    """Bad input: ``message`` says what is wrong, ``details`` list each problem (all at once)."""

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
