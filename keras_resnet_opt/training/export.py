"""SavedModel export for serving: raw uint8 images in, class probabilities out.

``model.export`` would take float inputs; an ``ExportArchive`` with a uint8
signature lets users feed decoded image bytes directly, and the normalisation
inside the model does the rest. Loading needs TensorFlow alone.
"""

import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from keras_resnet_opt.atomic import current_umask, replace_directory
from keras_resnet_opt.data.constants import IMAGE_SHAPE

ENDPOINT = "serve"


def export_saved_model(model, path):
    """Write a TF SavedModel with a ``serve`` endpoint taking uint8 ``[N, 32, 32, 3]``.

    Written to a temporary folder beside ``path`` and moved into place, so an
    interruption never leaves a half-written export. The folder gets the mode
    the user's other folders get (``mkdtemp`` makes it private).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        archive = keras.export.ExportArchive()
        archive.track(model)

        def serve(images):
            return model(tf.cast(images, tf.float32), training=False)

        archive.add_endpoint(
            name=ENDPOINT,
            fn=serve,
            input_signature=[tf.TensorSpec(shape=(None, *IMAGE_SHAPE), dtype=tf.uint8, name="images")],
        )
        archive.write_out(str(tmp), verbose=False)
        tmp.chmod(0o777 & ~current_umask())
        replace_directory(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path
