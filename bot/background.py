"""A service's endless loop as one named asyncio task: started with the server, cancelled at stop."""

import asyncio
import contextlib


class BackgroundLoop:
    """Subclasses name the task and implement ``run_forever``; ``start``/``stop_loop`` do the rest."""

    task_name = "charon-loop"
    _task: asyncio.Task[None] | None = None

    async def run_forever(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self.run_forever(), name=self.task_name)

    async def stop_loop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
