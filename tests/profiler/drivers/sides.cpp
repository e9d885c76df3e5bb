// Test sides for the C++ driver: side 1 allocates 1 MiB, side 0 and 2 nothing.
#include <vector>

int perforch_side(int which) {
    if (which != 1) return 0;
    std::vector<char>* v = new std::vector<char>(1 << 20, 1);
    int r = (*v)[7];
    delete v;
    return r;
}
