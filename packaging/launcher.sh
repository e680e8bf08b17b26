#!/bin/sh
# /usr/bin/evalstudio: start the frozen app installed in /opt/evalstudio.
# The path is found relative to this script (usr/bin/../../opt), so a .deb extracted into any
# folder (dpkg-deb -x evalstudio.deb ROOT; ROOT/usr/bin/evalstudio --self-test) runs as well.
here=$(dirname "$(readlink -f "$0")")
app="$here/../../opt/evalstudio/evalstudio"
if [ ! -x "$app" ]; then
    echo "error: $app is missing; reinstall the evalstudio package." >&2
    exit 2
fi
# Qt wants a UTF-8 locale and warns on every start without one (minimal systems, cron, ssh).
if [ -z "${LC_ALL:-}${LC_CTYPE:-}${LANG:-}" ]; then
    export LANG=C.UTF-8
fi
exec "$app" "$@"
