"""Two waits of jupyter_client that every graded notebook paid with nothing running, pinned, and the grader's
kernel manager without them (rnn_helpers/grader/execute.py):

- ``wait_for_ready`` ends by reading IOPub until it has been silent for 0.2 s; the grader's client is ready at the
  kernel's ``status: idle`` for its ``kernel_info`` request;
- after killing a kernel, ``_async_wait`` sleeps 0.1 s before it looks again, and a kernel killed an instant ago
  is still alive at the first look; the grader's manager looks again after 1 ms, then twice as long each time.

Both run a real (unsandboxed) kernel of this environment: the first cell's output is the cell's own.
"""
from __future__ import annotations

import asyncio
from queue import Empty

import pytest

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import KernelManager

from rnn_helpers.grader.execute import PrivateKernelManager, ReadyKernelClient


def _ready_and_run(client_factory) -> tuple[list[tuple[float, str]], list[dict]]:
    """Start a kernel whose clients are ``client_factory``'s, wait until it is ready, run one cell; the IOPub reads
    of the wait (``(timeout, what came: a message type, or "empty")``) and the cell's IOPub messages."""
    async def run():
        km = PrivateKernelManager(kernel_name="python3", client_factory=client_factory)
        await km.start_kernel()
        kc = km.client()
        reads: list[tuple[float, str]] = []
        get_msg = kc.iopub_channel.get_msg

        async def recording(timeout=None):
            try:
                msg = await get_msg(timeout=timeout)
            except Empty:
                reads.append((timeout, "empty"))
                raise
            reads.append((timeout, msg["msg_type"]))
            return msg
        kc.iopub_channel.get_msg = recording
        try:
            kc.start_channels()
            await kc.wait_for_ready(timeout=60)
            kc.iopub_channel.get_msg = get_msg
            msg_id = kc.execute("print(6 * 7)")
            cell = []
            while True:
                msg = await kc.iopub_channel.get_msg(timeout=30)
                if msg["parent_header"].get("msg_id") == msg_id:
                    cell.append(msg)
                    if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                        return reads, cell
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    return asyncio.run(run())


def test_jupyter_clients_wait_for_ready_ends_with_a_fifth_of_a_second_of_silence():
    reads, _ = _ready_and_run(AsyncKernelClient)
    assert reads[-1] == (0.2, "empty")  # nothing more came: it waited the whole 0.2 s for nothing


def test_the_graders_client_is_ready_at_the_kernels_idle_for_kernel_info():
    reads, cell = _ready_and_run(ReadyKernelClient)
    assert reads[-1] == (0.2, "status")  # it stopped at a message, not at a timeout
    assert "iopub_welcome" in [what for _, what in reads]  # ipykernel 7's welcome: what the client relies on
    streams = [m["content"]["text"] for m in cell if m["msg_type"] == "stream"]
    assert streams == ["42\n"]  # the kernel runs the first cell as before, and nothing of the start leaks into it
    assert PrivateKernelManager().client_factory is ReadyKernelClient  # the grader's kernels (and the sandbox's)


def _sleeps_while_alive(manager_class, monkeypatch, polls_alive: int = 3) -> list[float]:
    """The sleeps of ``manager_class._async_wait`` for a kernel that is alive at the first ``polls_alive``
    looks."""
    sleeps: list[float] = []
    answers = iter([True] * polls_alive + [False])

    async def is_alive(self):
        return next(answers)

    async def sleep(delay, *args):
        sleeps.append(delay)

    monkeypatch.setattr(manager_class, "_async_is_alive", is_alive)
    monkeypatch.setattr(asyncio, "sleep", sleep)
    asyncio.run(manager_class._async_wait(manager_class.__new__(manager_class)))
    return sleeps


def test_jupyter_clients_wait_for_a_killed_kernel_sleeps_a_tenth_of_a_second_first(monkeypatch):
    assert _sleeps_while_alive(KernelManager, monkeypatch) == [0.1, 0.1, 0.1]


def test_the_graders_manager_looks_again_after_a_millisecond_then_twice_as_long(monkeypatch):
    assert _sleeps_while_alive(PrivateKernelManager, monkeypatch) == [0.001, 0.002, 0.004]
    assert max(_sleeps_while_alive(PrivateKernelManager, monkeypatch, polls_alive=12)) == pytest.approx(0.1)
