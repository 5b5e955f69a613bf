"""Facts about CIFAR-10 that everything else reads from here."""

# The official label order (index = label), as in the batches.meta of the release.
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SHAPE = (32, 32, 3)
# Images in the official training and test splits.
TRAIN_IMAGES = 50000
TEST_IMAGES = 10000

# The record `kro-jpeg-copy` writes inside a derived copy (and that is committed beside the runs trained on it).
COPY_PROVENANCE = "PROVENANCE.json"

# Per-channel normalisation of the Padam reference scripts (on the [0, 1] scale).
CHANNEL_MEAN = (0.4914, 0.4822, 0.4465)
CHANNEL_STD = (0.2023, 0.1994, 0.2010)
