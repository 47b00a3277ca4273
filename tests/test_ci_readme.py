"""The README's Quick start stays two commands, and .ci/run runs the README's test command."""

import re
import subprocess


def test_quick_start_has_two_commands_and_ci_uses_the_test_one(repo_root):
    readme = open(f'{repo_root}/README.md', encoding='utf-8').read()
    section = readme.split('## Quick start', 1)[1].split('\n## ', 1)[0]
    commands = re.findall(r'```bash\n(.+?)\n```', section, flags=re.S)
    assert len(commands) == 2 and all('\n' not in c for c in commands)
    out = subprocess.run(
        [
            'awk',
            '/<!-- test-command -->/{flag=1; next} flag && /^```bash/{getline; print; exit}',
            'README.md',
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == commands[1]
    assert 'pytest' in commands[1]
    ci = open(f'{repo_root}/.ci/run', encoding='utf-8').read()
    assert 'test-command' in ci and 'README.md' in ci
