/* dashboard.S: the dashboard's static files (server/api/dashboard/), embedded in .rodata. */

/* embed NAME, FILE: the bytes of FILE as NAME[], their count as NAME_size (uint64_t) */
.macro embed name, file
    .section .rodata.\name, "a", @progbits
    .global \name
    .type \name, @object
    .balign 16
\name:
    .incbin "\file"
\name\()_end:
    .byte 0 /* a NUL after the data, not counted: handy in a debugger */
    .size \name, . - \name
    .global \name\()_size
    .type \name\()_size, @object
    .balign 8
\name\()_size:
    .quad \name\()_end - \name
    .size \name\()_size, 8
.endm

    embed dashboard_index_html, "server/api/dashboard/index.html"
    embed dashboard_css, "server/api/dashboard/dashboard.css"
    embed dashboard_js, "server/api/dashboard/dashboard.js"
    embed dashboard_history_js, "server/api/dashboard/history.js"
    embed dashboard_favicon_svg, "server/api/dashboard/favicon.svg"

    .section .note.GNU-stack, "", @progbits
