"""The names of a study directory's parts, which the grid writes and the report reads.

    STUDY/study.json      the grid's plan and the pre-registration (`STUDY_FILE`);
                          optionally a ``title`` and ``design_notes`` (a list of
                          sentences) that the report shows
    STUDY/runs/<run>/     one training run each, in the trainer's layout (`RUNS_DIR`)
    STUDY/logs/<run>.log  each run's output, written by the grid (`LOGS_DIR`)

Kept apart, with no imports, so that the grid, the declaration and the
reader agree on them without importing one another.
"""

STUDY_FILE = "study.json"
RUNS_DIR = "runs"
LOGS_DIR = "logs"
