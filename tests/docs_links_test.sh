#!/usr/bin/env bash
# tests/docs_links_test.sh ROOT: every relative link and image in the Markdown that ships
# (README.md, docs/, results/, python/) names a file or folder that exists: no report or page
# links a chart that was not drawn.
set -uo pipefail
root=${1:?usage: docs_links_test.sh ROOT}
cd "$root" || exit 2
bad=0
while IFS= read -r -d '' md; do
  dir=$(dirname "$md")
  # ](target) and ](target "title"), skipping URLs, mail and in-page anchors.
  while IFS= read -r target; do
    target=${target%%#*}
    target=${target%% *}
    [ -z "$target" ] && continue
    case "$target" in http:* | https:* | mailto:*) continue ;; esac
    if [ ! -e "$dir/$target" ]; then
      echo "$md: links $target, which does not exist"
      bad=1
    fi
  done < <(grep -o '](\([^)]*\))' "$md" | sed 's/^](\(.*\))$/\1/')
done < <(find README.md docs results python -name '*.md' -print0 2>/dev/null)
[ $bad -eq 0 ] && echo "docs links: every relative link resolves"
exit $bad
