"""``report``: write a small summary artifact, or fail on request (to exercise failure reports)."""

from kfp import dsl

from components.settings import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def report(total: int, fail: bool, summary: dsl.Output[dsl.Dataset]) -> None:
    if fail:
        raise ValueError(f"asked to fail (total was {total})")
    with open(summary.path, "w") as handle:
        handle.write(f"total={total}\n")
