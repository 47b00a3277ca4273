from shmatting.utils import collect_env, env_table


def test_collect_env_has_the_facts():
    env = collect_env()
    for key in (
        'Python',
        'MindSpore',
        'Device targets',
        'NumPy',
        'OpenCV',
        'shmatting',
        'ONEDNN_MAX_CPU_ISA',
    ):
        assert key in env
    assert 'CPU' in env['Device targets']
    table = env_table(env)
    assert '| MindSpore' in table and env['MindSpore'] in table
