#!/usr/bin/env bash
# Build evalstudio's Linux installers: a PyInstaller one-folder app, a .tar.gz of it and a .deb.
#
#   packaging/build.sh            build, check with --self-test, package (outputs in packaging/dist/)
#   packaging/build.sh --package  skip PyInstaller, re-package the existing packaging/dist/evalstudio
#
# Environment: PYTHON (default .venv/bin/python, which needs `pip install -e .[packaging]`),
# EVALSTUDIO_SLIM=0 to build without the slimming (to measure it), NICE (default 10).
# Outputs: packaging/dist/evalstudio/ (the app), evalstudio-VERSION-linux-ARCH.tar.gz,
# evalstudio_VERSION_ARCH.deb; work files in packaging/build/. Neither folder goes into git.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG="$ROOT/packaging"
DIST="$PKG/dist"
WORK="$PKG/build"
PYTHON=${PYTHON:-"$ROOT/.venv/bin/python"}
NICE=${NICE:-10}
cd "$ROOT"

die() { echo "error: $*" >&2; exit 2; }
[ -x "$PYTHON" ] || die "no Python at $PYTHON. Create the virtualenv (see README) or set PYTHON=/path/to/python."
"$PYTHON" -c "import PyInstaller" 2>/dev/null \
    || die "PyInstaller is not installed for $PYTHON. Run: $PYTHON -m pip install -e '.[packaging]'"
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (needed for the .deb). Run: apt-get install dpkg"

VERSION=$("$PYTHON" -c "import evalstudio; print(evalstudio.__version__)")
ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m)
TARBALL="$DIST/evalstudio-$VERSION-linux-$(uname -m).tar.gz"
DEB="$DIST/evalstudio_${VERSION}_${ARCH}.deb"
APP="$DIST/evalstudio"

if [ "${1:-}" != "--package" ]; then
    echo "== icons"
    QT_QPA_PLATFORM=offscreen "$PYTHON" "$PKG/render_icons.py"
    echo "== PyInstaller (one folder; log in $WORK/pyinstaller.log)"
    start=$(date +%s)
    mkdir -p "$WORK"
    if ! nice -n "$NICE" "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
            --distpath "$DIST" --workpath "$WORK/pyinstaller" "$PKG/evalstudio.spec" >"$WORK/pyinstaller.log" 2>&1; then
        tail -n 30 "$WORK/pyinstaller.log" >&2
        die "PyInstaller failed; the full log is $WORK/pyinstaller.log"
    fi
    echo "built $APP in $(( $(date +%s) - start )) s, $(du -sh "$APP" | cut -f1)"
    if [ "${EVALSTUDIO_SLIM:-1}" != "0" ] && command -v strip >/dev/null; then
        # Symbol tables the app never reads (~150 MB, mostly libtorch_cpu and libpython). Only
        # libraries built by their projects' own tool chains: the auditwheel-patched ones in
        # numpy.libs/scipy.libs (and torch's libgomp) can break when stripped.
        for lib in "$APP"/_internal/torch/lib/lib{c10,shm,torch,torch_cpu,torch_global_deps,torch_python}.so \
                   "$APP"/_internal/pyarrow/lib*.so* "$APP"/_internal/libpython3*.so*; do
            [ -f "$lib" ] && [ ! -L "$lib" ] && strip --strip-unneeded "$lib"
        done
        echo "stripped symbol tables: $(du -sh "$APP" | cut -f1)"
    fi
fi
[ -x "$APP/evalstudio" ] || die "$APP/evalstudio is missing: run packaging/build.sh without --package first."

echo "== self-test of the frozen app"
QT_QPA_PLATFORM=offscreen "$APP/evalstudio" --self-test || die "the frozen app's self-test failed (see above)."

echo "== $TARBALL"
rm -f "$TARBALL"
tar -C "$DIST" -czf "$TARBALL" evalstudio

echo "== $DEB"
STAGE="$WORK/deb/evalstudio"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/doc/evalstudio"
cp -a "$APP" "$STAGE/opt/evalstudio"
install -m 0755 "$PKG/launcher.sh" "$STAGE/usr/bin/evalstudio"
install -m 0644 "$PKG/evalstudio.desktop" "$STAGE/usr/share/applications/evalstudio.desktop"
install -m 0644 "$ROOT/resources/icons/evalstudio.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/evalstudio.svg"
for size in 48 128 256; do
    mkdir -p "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps"
    install -m 0644 "$ROOT/resources/icons/evalstudio-$size.png" \
        "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/evalstudio.png"
done
printf 'evalstudio %s, frozen with PyInstaller. License: MIT.\nBundled: Python, PyTorch (CPU), Qt/PySide6 (LGPLv3), pyqtgraph, NumPy, SciPy, scikit-learn, pandas, pyarrow.\n' \
    "$VERSION" > "$STAGE/usr/share/doc/evalstudio/copyright"
# Depends: what the bundle loads from the system. PyInstaller never bundles glibc, the GL/EGL
# loaders, libxcb and the Wayland client libraries (checked with ldd: nothing else resolves outside
# the folder); it bundles the xcb-util, xkbcommon, fontconfig, GLib and D-Bus libraries only when
# the build machine has them, so those are listed too (present on every desktop anyway).
# glibc >= 2.36: the newest GLIBC_ symbol version the bundled binaries use (Debian 12 build).
cat > "$STAGE/DEBIAN/control" <<CONTROL
Package: evalstudio
Version: $VERSION
Section: science
Priority: optional
Architecture: $ARCH
Maintainer: evalstudio team <evalstudio@users.noreply.github.com>
Installed-Size: $(du -sk "$STAGE" | cut -f1)
Depends: libc6 (>= 2.36), libgl1, libegl1, libopengl0, libwayland-client0, libwayland-cursor0, libwayland-egl1, libfontconfig1, libfreetype6, fonts-dejavu-core, libglib2.0-0 | libglib2.0-0t64, libdbus-1-3, libx11-6, libx11-xcb1, libxcb1, libxkbcommon0, libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, libxcb-render-util0, libxcb-render0, libxcb-shape0, libxcb-shm0, libxcb-sync1, libxcb-xfixes0, libxcb-xkb1
Recommends: xdg-utils
Description: honest, fast evaluation of PyTorch classifiers on CSV data
 evalstudio trains and evaluates PyTorch classifiers on tabular CSV data: a desktop app
 (ROC and PR curves, confusion matrix at a live threshold, training curves, k-fold) and a
 headless command line (evalstudio train / evaluate / kfold). This package is a frozen build:
 Python, PyTorch (CPU) and Qt are included; nothing is installed with pip.
 .
 Check an installation without a display: evalstudio --self-test
CONTROL
rm -f "$DEB"
nice -n "$NICE" dpkg-deb --root-owner-group -Zgzip --build "$STAGE" "$DEB" >/dev/null
echo "== done"
ls -l "$TARBALL" "$DEB"
du -sh "$APP"
