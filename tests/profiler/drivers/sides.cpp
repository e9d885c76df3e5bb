// Test sides for the C++ driver: side 1 allocates 1 MiB, side 0 and 2 nothing.
#include <vector>

int perforch_side(int which) {
    if (which != 1) return 0;
    std::vector<char>* v = new std::vector<char>(1 << 20, 1);
    int r = (*v)[7];
    delete v;
    return r;
}

// A program built for the tests, not for a generated workload: nothing to read or serve.
#include <cstddef>
#include <string>
void perforch_prepare() {}
bool perforch_serve(int, const char*, size_t, std::string&) { return false; }
long perforch_arity() { return -1; }
bool perforch_mutates() { return false; }
