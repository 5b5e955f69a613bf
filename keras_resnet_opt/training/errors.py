"""Why a run stopped when the cause is not a bad setting.

Bad settings raise ``ValueError`` (the command lines exit 2). These are the
other ways a run stops on purpose: each message is one line that names what
happened, what is intact, and what to do. The command lines print it and
exit 1, without a traceback.
"""


class RunStopped(Exception):
    """Base class: a run stopped with nothing lost; the message says what to do."""


class CheckpointWriteError(RunStopped):
    """A checkpoint or history could not be written (a full disk, say); the
    previous checkpoint and the history are as they were."""


class NoUsableCheckpoint(RunStopped):
    """A run folder holds finished epochs but no checkpoint that loads."""


class RunFolderBusy(RunStopped):
    """Another process holds the run folder's lock."""
