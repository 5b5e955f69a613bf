"""Images per second of a Keras ``model.fit``, shared by the benchmark scripts."""

import time


def fit_images_per_second(model, x, y, epochs, batch_size):
    """Train ``model`` on ``x, y`` for ``epochs`` (shuffled each epoch) and return
    images/s over every epoch but the first, which includes tracing."""
    import keras

    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[Timer()])
    return len(x) * (epochs - 1) / sum(times[1:])
