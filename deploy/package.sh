#!/usr/bin/env bash
# Builds dist/postcall_<version>_<arch>.deb with Debian's own tools: a release binary with the
# Swift runtime linked in (it runs on an IVR host without a toolchain), its manual page and shell
# completions, the systemd template unit, the environment file as a conffile, the schema and the
# README, and the maintainer scripts in deploy/debian/. The version is the VERSION file's.
# `postcall-console` (the support console, which `postcall console` runs) ships beside it.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(tr -d '[:space:]' < VERSION)
arch=$(dpkg --print-architecture)
# A build folder of its own: static linking changes every object's flags.
swift build -c release --product postcall --static-swift-stdlib --scratch-path .build-static
swift build -c release --product postcall-console --static-swift-stdlib --scratch-path .build-static
# swift-argument-parser's manual generator, run on the binary's own description of its commands.
swift build -c release --product generate-manual --scratch-path .build-static
binary=.build-static/release/postcall

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/postcall_${version}_${arch}"
install -d "$root/DEBIAN"
install -D -m 0755 "$binary" "$root/usr/bin/postcall"
install -D -m 0755 .build-static/release/postcall-console "$root/usr/bin/postcall-console"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/postcall" "$root/usr/bin/postcall-console"
install -D -m 0644 deploy/postcall-worker@.service "$root/lib/systemd/system/postcall-worker@.service"
install -D -m 0644 deploy/postcall-console.service "$root/lib/systemd/system/postcall-console.service"
install -D -m 0644 deploy/postcall.env "$root/etc/postcall/postcall.env"
install -d "$root/usr/share/postcall/schema"
install -m 0644 schema/*.sql "$root/usr/share/postcall/schema/"
install -d "$root/usr/share/postcall/schema/postgres" "$root/usr/share/postcall/schema/attempt_log"
install -m 0644 schema/postgres/*.sql "$root/usr/share/postcall/schema/postgres/"
install -m 0644 schema/attempt_log/*.sql "$root/usr/share/postcall/schema/attempt_log/"
install -m 0644 deploy/postgres-roles.sql "$root/usr/share/postcall/postgres-roles.sql"

doc="$root/usr/share/doc/postcall"
install -d "$doc"
gzip -9n < README.md > "$doc/README.md.gz"
cat > "$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: postcall
Source: https://postcall.invalid/

Files: *
Copyright: $(date -u +%Y) the postcall developers
License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
printf 'postcall (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- postcall developers <postcall@postcall.invalid>  %s\n' \
    "$version" "$version" "$(date -u -R)" | gzip -9n > "$doc/changelog.gz"  # native: no Debian revision

# The manual page and completions come from the command's own definition (swift-argument-parser).
install -d "$root/usr/share/man/man1"
mkdir -p "$work/man"
.build-static/release/generate-manual "$binary" --date "$(date -u +%Y-%m-%d)" --output-directory "$work/man"
# A blank line in a discussion is a paragraph break to mdoc.
sed 's/^$/.Pp/' "$work/man/postcall.1" | gzip -9n > "$root/usr/share/man/man1/postcall.1.gz"
# The console's own page, under its executable's name.
.build-static/release/generate-manual .build-static/release/postcall-console --date "$(date -u +%Y-%m-%d)" --output-directory "$work/man"
sed -e 's/^$/.Pp/' -e 's/^\.Dt "POSTCALL CONSOLE"/.Dt POSTCALL-CONSOLE/' -e 's/^\.Nm "postcall console"/.Nm postcall-console/' "$work/man/postcall console.1" \
    | gzip -9n > "$root/usr/share/man/man1/postcall-console.1.gz"
# A completion file is sourced, not run: no #! line.
"$binary" --generate-completion-script bash | sed '1{/^#!/d}' | install -D -m 0644 /dev/stdin "$root/usr/share/bash-completion/completions/postcall"
"$binary" --generate-completion-script zsh | install -D -m 0644 /dev/stdin "$root/usr/share/zsh/vendor-completions/_postcall"
"$binary" --generate-completion-script fish | install -D -m 0644 /dev/stdin "$root/usr/share/fish/vendor_completions.d/postcall.fish"

# Depends: the Debian package of every shared library either binary names (their own
# dependencies come with them), at least at the version this build used.
console=.build-static/release/postcall-console
depends=$(for program in "$binary" "$console"; do
    for name in $(readelf -d "$program" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        library=$(ldd "$program" | awk -v name="$name" '$1 == name && $3 ~ /^\// { print $3 } $1 ~ "/" name "$" { print $1 }' | head -n 1)
        [ -n "$library" ] || { echo "package.sh: ldd does not find $name" >&2; exit 1; }
        package=$(dpkg -S "$library" 2>/dev/null || dpkg -S "$(readlink -f "$library")" 2>/dev/null) || {
            echo "package.sh: $library belongs to no Debian package" >&2; exit 1; }
        package=${package%%:*}
        echo "$package (>= $(dpkg-query -W -f='${Version}' "$package"))"
    done
done | sort -u | paste -sd, | sed 's/,/, /g')

install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$root/DEBIAN/"
echo /etc/postcall/postcall.env > "$root/DEBIAN/conffiles"
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
cat > "$root/DEBIAN/control" <<CONTROL
Package: postcall
Version: $version
Architecture: $arch
Maintainer: postcall developers <postcall@postcall.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: adduser, $depends
Section: net
Priority: optional
Homepage: https://postcall.invalid/
Description: durable delivery of IVR post-call webservices
 When a call on an IVR ends, the IVR inserts one row into an outbox with plain
 SQL; postcall workers claim the rows, send the REST or SOAP request built from
 the webservice's configuration and the call's variables, record every attempt
 and retry transient failures, so survey answers and voicemails are never lost.
CONTROL

mkdir -p dist
dpkg-deb --root-owner-group --build "$root" "dist/postcall_${version}_${arch}.deb" >/dev/null
echo "dist/postcall_${version}_${arch}.deb"
