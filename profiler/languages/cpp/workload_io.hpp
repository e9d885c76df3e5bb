// PerfOrch's generated inputs for C++ (profiler/harness/generated_compiled.py says how they are
// used): the function's arguments arrive in the token form py_workload.py's ``encode`` writes,
// and are read into the parameters' own types; what the function returns (and its arguments
// afterwards) leaves as JSON, which py_workload.py compares.
//
// Tokens: ``i 42``, ``f 0.5``, ``b 1``, ``s 5:hello`` (a byte count, then the bytes), ``n``
// (None), ``l 3 …`` (a list of 3 values), ``d 2 k v k v`` (a dict of 2 items).
#include <cxxabi.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace perforch_io {

struct Cursor {
    const char* p;
    const char* end;
};

[[noreturn]] inline void bad(const std::string& why) {
    throw std::invalid_argument("the generated input does not fit the parameter: " + why);
}

inline char tag(Cursor& c) {
    while (c.p < c.end && *c.p == ' ') c.p++;
    if (c.p >= c.end) bad("the input ended early");
    return *c.p++;
}

inline long long integer(Cursor& c) {
    char* e;
    long long v = std::strtoll(c.p, &e, 10);
    if (e == c.p) bad("a number was expected");
    c.p = e;
    return v;
}

inline size_t count(Cursor& c) {
    long long n = integer(c);
    if (n < 0) bad("a negative length");
    return (size_t)n;
}

template <class T> struct is_vector : std::false_type {};
template <class T, class A> struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T> struct is_set : std::false_type {};
template <class T, class C, class A> struct is_set<std::set<T, C, A>> : std::true_type {};
template <class T, class H, class E, class A>
struct is_set<std::unordered_set<T, H, E, A>> : std::true_type {};
template <class T> struct is_map : std::false_type {};
template <class K, class V, class C, class A>
struct is_map<std::map<K, V, C, A>> : std::true_type {};
template <class K, class V, class H, class E, class A>
struct is_map<std::unordered_map<K, V, H, E, A>> : std::true_type {};
template <class T> struct is_pair : std::false_type {};
template <class A, class B> struct is_pair<std::pair<A, B>> : std::true_type {};
template <class T> struct is_tuple : std::false_type {};
template <class... T> struct is_tuple<std::tuple<T...>> : std::true_type {};

template <class T> T read(Cursor& c);

template <class Tuple, size_t... I> Tuple read_tuple(Cursor& c, std::index_sequence<I...>) {
    if (tag(c) != 'l' || count(c) != sizeof...(I)) bad("a tuple of the wrong length");
    return Tuple{read<std::tuple_element_t<I, Tuple>>(c)...};
}

template <class T> T read(Cursor& c) {
    if constexpr (std::is_same_v<T, bool>) {
        char t = tag(c);
        if (t != 'b' && t != 'i') bad("a bool was expected");
        return integer(c) != 0;
    } else if constexpr (std::is_same_v<T, char>) {
        char t = tag(c);
        if (t == 'i') return (char)integer(c);
        if (t != 's') bad("a one-character string was expected for a char");
        size_t n = count(c);
        if (c.p >= c.end || *c.p != ':' || n != 1) bad("a one-character string for a char");
        char v = c.p[1];
        c.p += 2;
        return v;
    } else if constexpr (std::is_integral_v<T>) {
        char t = tag(c);
        if (t != 'i' && t != 'b') bad("an integer was expected");
        return (T)integer(c);
    } else if constexpr (std::is_floating_point_v<T>) {
        char t = tag(c);
        if (t != 'f' && t != 'i' && t != 'b') bad("a number was expected");
        char* e;
        double v = std::strtod(c.p, &e);
        if (e == c.p) bad("a number was expected");
        c.p = e;
        return (T)v;
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (tag(c) != 's') bad("a string was expected");
        size_t n = count(c);
        if (c.p >= c.end || *c.p != ':' || (size_t)(c.end - c.p - 1) < n) bad("a broken string");
        std::string v(c.p + 1, n);
        c.p += n + 1;
        return v;
    } else if constexpr (is_vector<T>::value || is_set<T>::value) {
        if (tag(c) != 'l') bad("a list was expected");
        size_t n = count(c);
        T v;
        if constexpr (is_vector<T>::value) v.reserve(n);
        for (size_t i = 0; i < n; i++) v.insert(v.end(), read<typename T::value_type>(c));
        return v;
    } else if constexpr (is_map<T>::value) {
        if (tag(c) != 'd') bad("a dict was expected");
        size_t n = count(c);
        T v;
        for (size_t i = 0; i < n; i++) {
            auto k = read<typename T::key_type>(c);
            v.emplace(std::move(k), read<typename T::mapped_type>(c));
        }
        return v;
    } else if constexpr (is_pair<T>::value) {
        auto t = read_tuple<std::tuple<typename T::first_type, typename T::second_type>>(
            c, std::make_index_sequence<2>{});
        return T(std::move(std::get<0>(t)), std::move(std::get<1>(t)));
    } else if constexpr (is_tuple<T>::value) {
        return read_tuple<T>(c, std::make_index_sequence<std::tuple_size_v<T>>{});
    } else {
        static_assert(sizeof(T) == 0, "PerfOrch cannot generate inputs of this parameter type");
    }
}

inline void write_string(std::string& o, const char* s, size_t n) {
    o += '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            o += '\\';
            o += (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", ch);  // bytes, the same for both sides
            o += buf;
        } else {
            o += (char)ch;
        }
    }
    o += '"';
}

template <class T> void write(std::string& o, const T& v);

template <class Tuple, size_t... I>
void write_tuple(std::string& o, const Tuple& t, std::index_sequence<I...>) {
    o += '[';
    ((o += (I ? "," : ""), write(o, std::get<I>(t))), ...);
    o += ']';
}

template <class T> void write(std::string& o, const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
        o += v ? "true" : "false";
    } else if constexpr (std::is_same_v<T, char>) {
        write_string(o, &v, 1);
    } else if constexpr (std::is_integral_v<T>) {
        o += std::to_string(v);
    } else if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(v)) {
            o += "NaN";
        } else if (std::isinf(v)) {
            o += v > 0 ? "Infinity" : "-Infinity";
        } else {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.17g", (double)v);
            o += buf;
            if (!std::strpbrk(buf, ".eE")) o += ".0";  // a float stays a float in JSON
        }
    } else if constexpr (std::is_same_v<T, std::string>) {
        write_string(o, v.data(), v.size());
    } else if constexpr (is_vector<T>::value || is_set<T>::value) {
        o += '[';
        bool first = true;
        for (const auto& x : v) {
            if (!first) o += ',';
            first = false;
            write(o, (typename T::value_type)x);
        }
        o += ']';
    } else if constexpr (is_map<T>::value) {
        o += '[';  // [[key, value], …]: keys of any type
        bool first = true;
        for (const auto& kv : v) {
            o += first ? "[" : ",[";
            first = false;
            write(o, kv.first);
            o += ',';
            write(o, kv.second);
            o += ']';
        }
        o += ']';
    } else if constexpr (is_pair<T>::value) {
        write_tuple(o, std::tie(v.first, v.second), std::make_index_sequence<2>{});
    } else if constexpr (is_tuple<T>::value) {
        write_tuple(o, v, std::make_index_sequence<std::tuple_size_v<T>>{});
    } else {
        static_assert(sizeof(T) == 0, "PerfOrch cannot compare results of this type");
    }
}

template <class T> using Plain = std::remove_cv_t<std::remove_reference_t<T>>;

template <class F> struct Signature;
template <class R, class... A> struct Signature<R (*)(A...)> {
    using Args = std::tuple<Plain<A>...>;
    static constexpr size_t arity = sizeof...(A);
    // A non-const reference parameter may change the caller's value: every call gets a copy.
    static constexpr bool mutates =
        ((std::is_lvalue_reference_v<A> && !std::is_const_v<std::remove_reference_t<A>>) || ...);
};

template <class F> typename Signature<F>::Args read_args(Cursor& c) {
    using Args = typename Signature<F>::Args;
    return read_tuple<Args>(c, std::make_index_sequence<std::tuple_size_v<Args>>{});
}

// Keeps a value the optimizer would otherwise discard, at no cost.
template <class T> inline void keep(T const& v) { asm volatile("" : : "g"(&v) : "memory"); }

// Every input of a measured workload, read once before anything is timed.
template <class F> struct Workload {
    F f;
    std::vector<typename Signature<F>::Args> inputs;

    void load(const char* path) {
        FILE* fh = std::fopen(path, "rb");
        if (!fh) throw std::runtime_error(std::string("no generated inputs at ") + path);
        std::string text;
        char buf[1 << 16];
        for (size_t n; (n = std::fread(buf, 1, sizeof buf, fh)) > 0;) text.append(buf, n);
        std::fclose(fh);
        Cursor c{text.data(), text.data() + text.size()};
        if (tag(c) != 'l') bad("the inputs file is not a list");
        for (size_t i = 0, n = count(c); i < n; i++) inputs.push_back(read_args<F>(c));
    }

    // One run: the function once on every input (each on its own copy when it may change it).
    int run() {
        for (auto& args : inputs) {
            if constexpr (Signature<F>::mutates) {
                auto mine = args;
                call(mine);
            } else {
                call(args);
            }
        }
        return 0;
    }

  private:
    template <class Args> void call(Args& args) {
        using R = decltype(std::apply(f, args));
        if constexpr (std::is_void_v<R>) {
            std::apply(f, args);
            keep(args);
        } else {
            R r = std::apply(f, args);
            keep(r);
        }
    }
};

// The driver's clock and heap counter (driver.cpp).
double perforch_cpu_ns_now();
long perforch_peak_start();
long perforch_peak_since(long base);

inline std::string exception_name(const std::type_info& t) {
    int status = 0;
    char* name = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
    std::string out = status == 0 && name ? name : t.name();
    std::free(name);
    return out;
}

// One call for ``serve``: the arguments read from ``c``, the function called on them, and the
// JSON reply: what it returned or raised, its arguments afterwards, its CPU time and the peak
// of the bytes it had allocated through ``new`` above those live before it.
template <class F> std::string answer(F f, Cursor& c) {
    typename Signature<F>::Args args;
    try {
        args = read_args<F>(c);
    } catch (const std::exception& e) {
        std::string o = "{\"input_error\": ";
        write(o, std::string(e.what()));
        return o + "}";
    }
    std::string returned = "null", raised = "null";
    long base = perforch_peak_start();
    double t0 = perforch_cpu_ns_now(), t1 = t0;
    try {
        using R = decltype(std::apply(f, args));
        if constexpr (std::is_void_v<R>) {
            std::apply(f, args);
            t1 = perforch_cpu_ns_now();
        } else {
            R r = std::apply(f, args);
            t1 = perforch_cpu_ns_now();
            returned.clear();
            write(returned, r);
        }
    } catch (const std::exception& e) {
        t1 = perforch_cpu_ns_now();
        raised.clear();
        write(raised, exception_name(typeid(e)));
    } catch (...) {
        t1 = perforch_cpu_ns_now();
        raised = "\"an exception that is not a std::exception\"";
    }
    long peak = perforch_peak_since(base);
    std::string o = "{\"returned\": " + returned + ", \"raised\": " + raised + ", \"args_after\": ";
    write(o, args);
    char tail[96];
    std::snprintf(tail, sizeof tail, ", \"ns\": %.0f, \"peak\": %ld}", t1 - t0, peak);
    return o + tail;
}

}  // namespace perforch_io
