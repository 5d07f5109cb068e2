# Writes the man page lowrank(1) from the CLI's own help text (OUT, and OUT.gz).
#   cmake -DCLI=path/to/lowrank -DOUT=lowrank.1 -DVERSION=x.y.z -P cmake/manpage.cmake
# The page holds `lowrank --help` and, one section each, `lowrank <sub> --help`
# for every subcommand the top-level help lists, as preformatted text: the help
# is the reference, the man page only carries it to `man lowrank`.
foreach(v CLI OUT VERSION)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "manpage.cmake needs -D${v}=...")
  endif()
endforeach()

function(run_help out)
  execute_process(COMMAND ${CLI} ${ARGN} --help OUTPUT_VARIABLE text ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${CLI} ${ARGN} --help failed (${rc}): ${err}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# roff: a backslash is \e, a hyphen \-, and a line must not start with . or '.
function(roff_escape out text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

run_help(top)
# Subcommand names: the indented first words of the "Subcommands:" block.
set(subs)
set(in_block FALSE)
string(REPLACE "\n" ";" lines "${top}")
foreach(line IN LISTS lines)
  if(line MATCHES "^(SUBCOMMANDS|Subcommands):")
    set(in_block TRUE)
  elseif(in_block AND line MATCHES "^  +([a-z][a-z0-9-]*)( |$)")
    list(APPEND subs ${CMAKE_MATCH_1})
  elseif(in_block AND NOT line MATCHES "^ ")
    set(in_block FALSE)
  endif()
endforeach()
if(NOT subs)
  message(FATAL_ERROR "no subcommands found in `${CLI} --help`")
endif()

roff_escape(top_roff "${top}")
set(page ".TH LOWRANK 1 \"\" \"lowrank ${VERSION}\" \"User Commands\"
.SH NAME
lowrank \\- find, estimate and exploit low\\-rank structure
.SH SYNOPSIS
.B lowrank
[\\fIOPTIONS\\fR] \\fISUBCOMMAND\\fR [\\fISUBCOMMAND OPTIONS\\fR]
.SH DESCRIPTION
.nf
${top_roff}.fi
.SH SUBCOMMANDS
")
foreach(s IN LISTS subs)
  run_help(text ${s})
  roff_escape(text "${text}")
  string(APPEND page ".SS \"lowrank ${s}\"\n.nf\n${text}.fi\n")
endforeach()
string(APPEND page ".SH SEE ALSO
The documentation pages in docs/ of the lowrank source tree; the Python package: pip install lowrank (docs/install.md).
")
file(WRITE ${OUT} "${page}")
# Debian installs man pages gzip-compressed.
file(ARCHIVE_CREATE OUTPUT ${OUT}.gz PATHS ${OUT} FORMAT raw COMPRESSION GZip)
