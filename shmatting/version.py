"""Version of the shmatting package."""

__version__ = '0.1.0'


def parse_version_info(version_str):
    """Split a version string such as ``'0.1.0'`` into a tuple of ints.

    Args:
        version_str (str): dotted version.

    Returns:
        tuple: the numeric parts, e.g. ``(0, 1, 0)``.
    """
    return tuple(int(p) if p.isdigit() else p for p in version_str.split('.'))


version_info = parse_version_info(__version__)
