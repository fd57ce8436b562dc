"""``add``: a sum after an optional sleep — the building block of ``smoke_pipeline``."""

from kfp import dsl

from components.settings import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def add(a: int, b: int, sleep_seconds: float) -> int:
    import time

    time.sleep(sleep_seconds)
    return a + b
