"""``fetch_calls``: sample exactly N calls from the calls warehouse into a turn-level CSV."""

from kfp import dsl

from components.settings import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def fetch_calls(
    lang: str,
    call_quantity: int,
    start_date: str,
    end_date: str,
    client_id: str,
    template_id: str,
    use_case: str,
    flow_name: str,
    flow_ids: str,
    call_type: str,
    ignore_callers: str,
    reported: bool,
    min_duration: str,
    asr_provider: str,
    states: str,
    intents: str,
    remove_empty_audios: bool,
    use_fsm_url: bool,
    timezone: str,
    calls: dsl.Output[dsl.Dataset],
) -> int:
    filters = dict(locals())
    filters.pop("calls")
    from components.lib.calls_sampling import write_calls_csv

    count = write_calls_csv(calls.path, filters)
    calls.metadata["calls"] = count
    print(f"Sampled {count} calls into {calls.path}")
    return count
