# libgreet: a tiny shell library used by hello.
greet() {
    printf 'Hello, %s! (libgreet 1.0.0)\n' "${1:-world}"
}
