/* The per-request crossing between Python and Wasmtime, compiled (issue 13).
 *
 * wasm_server/engine/_lowlevel.py is the one place that talks to Wasmtime; this module is
 * its compiled half, loaded by wasm_server/engine/fastcall.py. It does what the ctypes path
 * of _lowlevel.py does, without libffi and without Python frames in between:
 *
 *   - call(): set the epoch deadline, wasmtime_func_call_async, the first poll and the
 *     delete, in one C call; returns a finished awaitable (DONE) in the common case, else
 *     the Python coroutine that drives the rest (_lowlevel._resume);
 *   - host import trampolines (sync and async) that call the Python body with plain ints
 *     through vectorcall and write its result; an exception becomes a trap, never an unwind;
 *   - Crossing: the engine's per-instance slots (the base of HostCall), with read/write of
 *     guest memory (bounds check + copy).
 *
 * There is no link-time dependency on libwasmtime: init() receives the addresses of the C
 * functions from the library wasmtime-py loaded. The struct layouts below mirror
 * wasmtime-py's _bindings.py; fastcall.py compares them with ctypes' before using this
 * module (layout()), and falls back to the ctypes path on any difference. The two ctypes
 * object layouts (CDataObject, PyCArgObject) are CPython's; address()/pointer_value() are
 * checked against ctypes.addressof at import the same way.
 *
 * The GIL is released while a guest runs (the poll), as ctypes does: the epoch ticker is a
 * Python thread and must advance while a guest computes. Trampolines take it back.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifndef FASTCALL_SOURCE_SHA256
#define FASTCALL_SOURCE_SHA256 ""
#endif
/* bumped when the interface to fastcall.py / _lowlevel.py changes */
#define FASTCALL_ABI 1

/* ---- Wasmtime C API layouts (wasmtime.h; the same as wasmtime-py's _bindings.py) ---- */

typedef struct { uint64_t store_id; void *private_; } wt_func_t;
typedef struct { uint64_t store_id; uint32_t private1; } wt_memory_anon_t;
typedef struct { wt_memory_anon_t anon; uint32_t private2; } wt_memory_t;
typedef struct { uint64_t store_id; uint32_t p1, p2; void *p3; } wt_ref_t;
typedef union {
    int32_t i32; int64_t i64; float f32; double f64; wt_ref_t anyref; wt_func_t funcref; uint8_t v128[16];
} wt_valunion_t;
typedef struct { uint8_t kind; wt_valunion_t of; } wt_val_t;
typedef struct { uint8_t kind; union { wt_func_t func; wt_memory_t memory; } of; } wt_extern_t;
typedef struct { uint64_t store_id; size_t private_; } wt_instance_t;
typedef bool (*wt_continuation_cb)(void *env);
typedef struct { wt_continuation_cb callback; void *env; void (*finalizer)(void *); } wt_continuation_t;

typedef void *(*call_async_fn)(void *ctx, const wt_func_t *func, const wt_val_t *args, size_t nargs,
                               wt_val_t *results, size_t nresults, void **trap_ret, void **error_ret);
typedef void *(*instantiate_async_fn)(void *pre, void *ctx, void *instance_out, void **trap_ret, void **error_ret);
typedef bool (*poll_fn)(void *future);
typedef void (*delete_fn)(void *future);
typedef void (*set_deadline_fn)(void *ctx, uint64_t ticks);
typedef uint8_t *(*memory_data_fn)(const void *ctx, const wt_memory_t *memory);
typedef size_t (*memory_size_fn)(const void *ctx, const wt_memory_t *memory);
typedef void *(*trap_new_fn)(const char *message, size_t len);
typedef void *(*sync_callback_t)(void *env, void *caller, const wt_val_t *args, size_t nargs, wt_val_t *results,
                                 size_t nresults);
typedef void (*async_callback_t)(void *env, void *caller, const wt_val_t *args, size_t nargs, wt_val_t *results,
                                 size_t nresults, void **trap_ret, wt_continuation_t *continuation_ret);
typedef void *(*define_fn)(void *linker, const char *module, size_t module_len, const char *name, size_t name_len,
                           const void *ty, void *callback, void *env, void (*finalizer)(void *));

static call_async_fn w_call_async;
static instantiate_async_fn w_instantiate_async;
static poll_fn w_poll;
static delete_fn w_delete;
static set_deadline_fn w_set_deadline;
static memory_data_fn w_memory_data;
static memory_size_fn w_memory_size;
static trap_new_fn w_trap_new;
static define_fn w_define_func;
static define_fn w_define_async_func;

/* ---- CPython's ctypes object layouts (Modules/_ctypes/ctypes.h; checked at import) ---- */

typedef struct { PyObject_HEAD char *b_ptr; } cdata_head;
typedef struct {
    PyObject_HEAD
    void *pffi_type;
    char tag;
    union { char c; char b; short h; int i; long l; long long q; long double D; double d; float f; void *p; } value;
    PyObject *obj;
    Py_ssize_t size;
} carg_head;

static PyTypeObject *cdata_type;  /* ctypes' _CData: every ctypes instance */
static PyTypeObject *carg_type;   /* what ctypes.byref() returns */

/* ---- what init() hands over from Python ---- */

static int ready;
static int kind_i32, kind_i64;
static PyObject *guest_error;  /* wasm_server.errors.GuestError */
static PyObject *resume_fn;    /* _lowlevel._resume(state, future, deadline, settle) -> coroutine */
static PyObject *outcome_fn;   /* _lowlevel._outcome_at(trap, err) -> int | raises GuestError */
static PyObject *schedule_fn;  /* _lowlevel._schedule(value) -> asyncio future | int */
static PyObject *str_done, *str_result;

/* the state of the guest being polled on this thread (the module docstring of _lowlevel.py) */
static _Thread_local PyObject *current;

/* An address from a ctypes object: byref(x) -> addressof(x) (+ offset); an instance -> its
 * buffer; None -> NULL; an int -> itself. Returns -1 with an exception set when none of those. */
static int
address_of(PyObject *o, void **out)
{
    if (o == Py_None) {
        *out = NULL;
        return 0;
    }
    if (Py_IS_TYPE(o, carg_type) && ((carg_head *)o)->tag == 'P') {
        *out = ((carg_head *)o)->value.p;
        return 0;
    }
    if (PyObject_TypeCheck(o, cdata_type)) {
        *out = ((cdata_head *)o)->b_ptr;
        return 0;
    }
    if (PyLong_Check(o)) {
        *out = PyLong_AsVoidPtr(o);
        return *out == NULL && PyErr_Occurred() ? -1 : 0;
    }
    PyErr_Format(PyExc_TypeError, "expected a ctypes object, byref() or an address, not %.100s", Py_TYPE(o)->tp_name);
    return -1;
}

/* The value of a ctypes pointer (POINTER(T) instance or c_void_p), or an int address. */
static int
pointer_value(PyObject *o, void **out)
{
    if (PyLong_Check(o)) {
        *out = PyLong_AsVoidPtr(o);
        return *out == NULL && PyErr_Occurred() ? -1 : 0;
    }
    if (o == Py_None) {
        *out = NULL;
        return 0;
    }
    if (PyObject_TypeCheck(o, cdata_type)) {
        *out = *(void **)((cdata_head *)o)->b_ptr;
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "expected a ctypes pointer or an address, not %.100s", Py_TYPE(o)->tp_name);
    return -1;
}

static int
not_ready(void)
{
    if (ready)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "wasm_server.engine._fastcall: init() was not called");
    return 1;
}

/* ======================================================================================
 * Crossing: the engine's slots of a HostCall
 * ====================================================================================== */

typedef struct {
    PyObject_HEAD
    void *ctx;                   /* wasmtime_context_t* of the instance's Store */
    wt_memory_t memory;          /* its exported memory */
    int has_memory;
    void *trap;                  /* out-pointers of the running call */
    void *err;
    wt_val_t *pending_results;   /* where the suspended async import's result goes */
    size_t pending_nresults;
    uint8_t pending_kind;
    PyObject *ctx_obj;           /* the ctypes objects the Python side set, as they were given */
    PyObject *memory_obj;
    PyObject *pending;           /* asyncio future of the async import the guest waits on */
    PyObject *pending_label;     /* "<module>.<name>" of that import */
    PyObject *fence;             /* see HostCall.fence in _lowlevel.py */
} Crossing;

static PyTypeObject CrossingType;

static int
crossing_traverse(Crossing *self, visitproc visit, void *arg)
{
    Py_VISIT(self->ctx_obj);
    Py_VISIT(self->memory_obj);
    Py_VISIT(self->pending);
    Py_VISIT(self->pending_label);
    Py_VISIT(self->fence);
    return 0;
}

static int
crossing_clear(Crossing *self)
{
    Py_CLEAR(self->ctx_obj);
    Py_CLEAR(self->memory_obj);
    Py_CLEAR(self->pending);
    Py_CLEAR(self->pending_label);
    Py_CLEAR(self->fence);
    self->ctx = NULL;
    self->has_memory = 0;
    return 0;
}

static void
crossing_dealloc(Crossing *self)
{
    PyObject_GC_UnTrack(self);
    crossing_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
crossing_get_ctx(Crossing *self, void *closure)
{
    return Py_NewRef(self->ctx_obj ? self->ctx_obj : Py_None);
}

static int
crossing_set_ctx(Crossing *self, PyObject *value, void *closure)
{
    void *ctx = NULL;
    if (value == NULL)
        value = Py_None;
    if (pointer_value(value, &ctx) < 0)
        return -1;
    Py_XSETREF(self->ctx_obj, Py_NewRef(value));
    self->ctx = ctx;
    return 0;
}

static PyObject *
crossing_get_memory(Crossing *self, void *closure)
{
    return Py_NewRef(self->memory_obj ? self->memory_obj : Py_None);
}

static PyObject *
crossing_set_memory(Crossing *self, PyObject *memory)
{
    void *ext = NULL;
    if (address_of(memory, &ext) < 0)
        return NULL;
    if (ext == NULL) {
        PyErr_SetString(PyExc_TypeError, "set_memory() needs a wasmtime_extern_t");
        return NULL;
    }
    self->memory = ((wt_extern_t *)ext)->of.memory;
    self->has_memory = 1;
    Py_XSETREF(self->memory_obj, Py_NewRef(memory));
    Py_RETURN_NONE;
}

/* guest memory [ptr, ptr+length) checked against its current size; NULL + GuestError if out of bounds */
static uint8_t *
guest_range(Crossing *self, PyObject *ptr_obj, PyObject *len_obj, long long ptr, long long length, int overflow)
{
    if (!self->has_memory || self->ctx == NULL) {
        PyErr_SetString(guest_error, "the guest's memory is not known yet");
        return NULL;
    }
    size_t size = w_memory_size(self->ctx, &self->memory);
    if (overflow || ptr < 0 || length < 0 || (unsigned long long)ptr + (unsigned long long)length > size) {
        PyErr_Format(guest_error, "guest passed out-of-bounds memory range %S+%S (size %zu)", ptr_obj, len_obj, size);
        return NULL;
    }
    return w_memory_data(self->ctx, &self->memory) + ptr;
}

static PyObject *
crossing_read(Crossing *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "read(ptr, length)");
        return NULL;
    }
    int o1 = 0, o2 = 0;
    long long ptr = PyLong_AsLongLongAndOverflow(args[0], &o1);
    if (ptr == -1 && PyErr_Occurred())
        return NULL;
    long long length = PyLong_AsLongLongAndOverflow(args[1], &o2);
    if (length == -1 && PyErr_Occurred())
        return NULL;
    uint8_t *at = guest_range(self, args[0], args[1], ptr, length, o1 || o2);
    if (at == NULL)
        return NULL;
    return PyBytes_FromStringAndSize((const char *)at, (Py_ssize_t)length);
}

static PyObject *
crossing_write(Crossing *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "write(ptr, data)");
        return NULL;
    }
    int o1 = 0;
    long long ptr = PyLong_AsLongLongAndOverflow(args[0], &o1);
    if (ptr == -1 && PyErr_Occurred())
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *len_obj = PyLong_FromSsize_t(view.len);
    uint8_t *at = len_obj ? guest_range(self, args[0], len_obj, ptr, (long long)view.len, o1) : NULL;
    Py_XDECREF(len_obj);
    if (at != NULL)
        memcpy(at, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    if (at == NULL)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef crossing_methods[] = {
    {"read", (PyCFunction)(void (*)(void))crossing_read, METH_FASTCALL,
     "read(ptr, length) -> bytes: copy bytes out of guest memory; GuestError if out of bounds"},
    {"write", (PyCFunction)(void (*)(void))crossing_write, METH_FASTCALL,
     "write(ptr, data): copy data into guest memory at ptr; GuestError if out of bounds"},
    {"set_memory", (PyCFunction)crossing_set_memory, METH_O,
     "set_memory(extern): remember the guest's exported memory (a wasmtime_extern_t)"},
    {NULL}
};

static PyGetSetDef crossing_getset[] = {
    {"ctx", (getter)crossing_get_ctx, (setter)crossing_set_ctx, "the Store's context (set by the engine)", NULL},
    {"memory", (getter)crossing_get_memory, NULL, "the wasmtime_extern_t of the guest's memory", NULL},
    {NULL}
};

static PyMemberDef crossing_members[] = {
    {"pending", T_OBJECT, offsetof(Crossing, pending), 0, "asyncio future of the import the guest waits on"},
    {"pending_label", T_OBJECT, offsetof(Crossing, pending_label), 0, "that import's name"},
    {"fence", T_OBJECT, offsetof(Crossing, fence), 0, "what the call's outcome waits for (kv.py)"},
    {NULL}
};

static PyTypeObject CrossingType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasm_server.engine._fastcall.Crossing",
    .tp_doc = "The engine's slots of a HostCall: the Store's context, the guest's memory, the call in flight.",
    .tp_basicsize = sizeof(Crossing),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)crossing_dealloc,
    .tp_traverse = (traverseproc)crossing_traverse,
    .tp_clear = (inquiry)crossing_clear,
    .tp_methods = crossing_methods,
    .tp_getset = crossing_getset,
    .tp_members = crossing_members,
};

/* ======================================================================================
 * Polling, the finished awaitable and the future of a call still running
 * ====================================================================================== */

static bool
poll_released(Crossing *st, void *future)
{
    PyObject *prev = current;
    bool done;
    current = (PyObject *)st;
    Py_BEGIN_ALLOW_THREADS
    done = w_poll(future);
    Py_END_ALLOW_THREADS
    current = prev;
    return done;
}

/* DONE: awaiting it returns None at once (am_await -> itself, an iterator already exhausted) */
typedef struct { PyObject_HEAD } Done;

static PyObject *
done_await(PyObject *self)
{
    return Py_NewRef(self);
}

static PyObject *
done_next(PyObject *self)
{
    return NULL;  /* exhausted, no exception: StopIteration(None) */
}

static PyAsyncMethods done_async = {.am_await = done_await};

static PyTypeObject DoneType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasm_server.engine._fastcall.Done",
    .tp_doc = "A call that finished in its first poll: awaiting it returns None at once.",
    .tp_basicsize = sizeof(Done),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_as_async = &done_async,
    .tp_iter = done_await,
    .tp_iternext = done_next,
};

static PyObject *DONE;

/* Future: a call (or instantiation) after its first poll, when it did not finish cleanly */
typedef struct {
    PyObject_HEAD
    Crossing *state;
    void *future;   /* the wasmtime_call_future_t, NULL once deleted */
    int finished;
} Future;

static void
future_delete(Future *self)
{
    if (self->future != NULL) {
        void *f = self->future;
        self->future = NULL;
        w_delete(f);  /* an unfinished call's guest fiber is unwound */
    }
}

static void
future_dealloc(Future *self)
{
    future_delete(self);
    Py_XDECREF(self->state);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
future_poll(Future *self, PyObject *state)
{
    if (!self->finished) {
        if (self->future == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "the call was abandoned");
            return NULL;
        }
        if (poll_released(self->state, self->future)) {
            self->finished = 1;
            future_delete(self);
        }
    }
    return PyBool_FromLong(self->finished);
}

static PyObject *
future_close(Future *self, PyObject *unused)
{
    future_delete(self);
    Py_RETURN_NONE;
}

static PyObject *
future_outcome(Future *self, PyObject *unused)
{
    Crossing *st = self->state;
    void *trap = st->trap, *err = st->err;
    st->trap = st->err = NULL;
    if (trap == NULL && err == NULL)
        Py_RETURN_NONE;
    return PyObject_CallFunction(outcome_fn, "nn", (Py_ssize_t)trap, (Py_ssize_t)err);
}

static PyObject *
future_get_finished(Future *self, void *closure)
{
    return PyBool_FromLong(self->finished);
}

static PyMethodDef future_methods[] = {
    {"poll", (PyCFunction)future_poll, METH_O, "poll(state) -> bool: run the guest until it finishes or waits"},
    {"close", (PyCFunction)future_close, METH_NOARGS, "delete the Wasmtime future (unwinds an unfinished guest)"},
    {"outcome", (PyCFunction)future_outcome, METH_NOARGS,
     "None, the WASI exit status, or GuestError: how the finished call ended"},
    {NULL}
};

static PyGetSetDef future_getset[] = {
    {"finished", (getter)future_get_finished, NULL, "whether the call finished", NULL},
    {NULL}
};

static PyTypeObject FutureType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasm_server.engine._fastcall.Future",
    .tp_doc = "A guest call after its first poll (see _lowlevel.drive).",
    .tp_basicsize = sizeof(Future),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)future_dealloc,
    .tp_methods = future_methods,
    .tp_getset = future_getset,
};

/* After the first poll: DONE, or _resume(state, Future, deadline, settle) for everything else */
static PyObject *
after_first_poll(Crossing *st, void *future, bool done, PyObject *deadline, int settle)
{
    if (done) {
        w_delete(future);
        future = NULL;
        if (st->trap == NULL && st->err == NULL && (!settle || st->fence == NULL || st->fence == Py_None))
            return Py_NewRef(DONE);
    }
    Future *f = PyObject_New(Future, &FutureType);
    if (f == NULL) {
        if (future != NULL)
            w_delete(future);
        return NULL;
    }
    f->state = (Crossing *)Py_NewRef(st);
    f->future = future;
    f->finished = done;
    PyObject *coro = PyObject_CallFunctionObjArgs(resume_fn, (PyObject *)st, (PyObject *)f, deadline,
                                                  settle ? Py_True : Py_False, NULL);
    Py_DECREF(f);
    return coro;
}

static Crossing *
as_state(PyObject *o)
{
    if (!PyObject_TypeCheck(o, &CrossingType)) {
        PyErr_Format(PyExc_TypeError, "expected a HostCall, not %.100s", Py_TYPE(o)->tp_name);
        return NULL;
    }
    Crossing *st = (Crossing *)o;
    if (st->ctx == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the HostCall has no Store context");
        return NULL;
    }
    return st;
}

static PyObject *
fc_call(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (not_ready())
        return NULL;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "call(state, func, args, nargs, results, nresults, deadline)");
        return NULL;
    }
    Crossing *st = as_state(args[0]);
    if (st == NULL)
        return NULL;
    void *func, *params, *results;
    if (address_of(args[1], &func) < 0 || address_of(args[2], &params) < 0 || address_of(args[4], &results) < 0)
        return NULL;
    if (func == NULL) {
        PyErr_SetString(PyExc_TypeError, "call() needs a function");
        return NULL;
    }
    size_t np = PyLong_AsSize_t(args[3]);
    if (np == (size_t)-1 && PyErr_Occurred())
        return NULL;
    size_t nr = PyLong_AsSize_t(args[5]);
    if (nr == (size_t)-1 && PyErr_Occurred())
        return NULL;
    /* the deadline counts from this call, not from the instance's last one (see _lowlevel.call) */
    w_set_deadline(st->ctx, 1);
    st->trap = st->err = NULL;
    void *future = w_call_async(st->ctx, (const wt_func_t *)func, (const wt_val_t *)params, np,
                                (wt_val_t *)results, nr, &st->trap, &st->err);
    bool done = poll_released(st, future);
    return after_first_poll(st, future, done, args[6], 1);
}

static PyObject *
fc_instantiate(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (not_ready())
        return NULL;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "instantiate(state, pre, instance_out, deadline)");
        return NULL;
    }
    Crossing *st = as_state(args[0]);
    if (st == NULL)
        return NULL;
    void *pre, *out;
    if (pointer_value(args[1], &pre) < 0 || address_of(args[2], &out) < 0)
        return NULL;
    if (pre == NULL || out == NULL) {
        PyErr_SetString(PyExc_TypeError, "instantiate() needs an InstancePre and an instance to fill");
        return NULL;
    }
    st->trap = st->err = NULL;
    void *future = w_instantiate_async(pre, st->ctx, out, &st->trap, &st->err);
    bool done = poll_released(st, future);
    return after_first_poll(st, future, done, args[3], 0);
}

/* ======================================================================================
 * Host imports
 * ====================================================================================== */

typedef struct {
    PyObject_HEAD
    PyObject *fn;       /* fn(state, *int args) */
    PyObject *label;    /* "<module>.<name>", the prefix of its trap messages */
    uint8_t result_kind;
} HostFn;

static void
hostfn_dealloc(HostFn *self)
{
    Py_XDECREF(self->fn);
    Py_XDECREF(self->label);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject HostFnType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasm_server.engine._fastcall.HostFn",
    .tp_doc = "A host import's body as its C trampoline sees it (kept alive as long as the linker).",
    .tp_basicsize = sizeof(HostFn),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)hostfn_dealloc,
};

/* the Python exception now set, as a trap "<label>: <message>" (the exception is cleared) */
static void *
trap_from_error(PyObject *label)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *text = NULL;
    if (value != NULL) {
        PyObject *msg = PyObject_Str(value);
        if (msg != NULL)
            text = PyUnicode_FromFormat("%U: %U", label, msg);
        Py_XDECREF(msg);
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    Py_ssize_t n = 0;
    const char *s = text ? PyUnicode_AsUTF8AndSize(text, &n) : NULL;
    void *trap;
    if (s != NULL) {
        trap = w_trap_new(s, (size_t)n);
    } else {
        static const char fallback[] = "a host import failed";
        trap = w_trap_new(fallback, sizeof fallback - 1);
    }
    Py_XDECREF(text);
    PyErr_Clear();
    return trap;
}

static int
write_result(wt_val_t *out, uint8_t kind, PyObject *value)
{
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_TypeError, "int expected instead of %.100s", Py_TYPE(value)->tp_name);
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLongMask(value);  /* wraps, as ctypes' fields do */
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    out->kind = kind;
    if (kind == kind_i64)
        out->of.i64 = (int64_t)v;
    else
        out->of.i32 = (int32_t)(uint32_t)v;
    return 0;
}

#define INLINE_ARGS 16

/* fn(state, *args) with the guest's arguments as ints; NULL with an exception set on failure */
static PyObject *
call_body(HostFn *h, const wt_val_t *args, size_t nargs)
{
    PyObject *stack[INLINE_ARGS + 1];
    PyObject **argv = stack;
    if (nargs > INLINE_ARGS) {
        argv = PyMem_Malloc((nargs + 1) * sizeof(PyObject *));
        if (argv == NULL)
            return PyErr_NoMemory();
    }
    argv[0] = current != NULL ? current : Py_None;
    size_t made = 0;
    PyObject *res = NULL;
    for (; made < nargs; made++) {
        PyObject *v = args[made].kind == kind_i64 ? PyLong_FromLongLong(args[made].of.i64)
                                                  : PyLong_FromLong(args[made].of.i32);
        if (v == NULL)
            goto done;
        argv[made + 1] = v;
    }
    res = PyObject_Vectorcall(h->fn, argv, nargs + 1, NULL);
done:
    for (size_t i = 0; i < made; i++)
        Py_DECREF(argv[i + 1]);
    if (argv != stack)
        PyMem_Free(argv);
    return res;
}

static void *
sync_trampoline(void *env, void *caller, const wt_val_t *args, size_t nargs, wt_val_t *results, size_t nresults)
{
    HostFn *h = env;
    PyGILState_STATE gil = PyGILState_Ensure();
    void *trap = NULL;
    PyObject *res = call_body(h, args, nargs);
    if (res == NULL || (nresults && write_result(&results[0], h->result_kind, res) < 0))
        trap = trap_from_error(h->label);
    Py_XDECREF(res);
    PyGILState_Release(gil);
    return trap;
}

/* Wasmtime's finalizers are optional, but a no-op costs nothing and needs no reading of its headers */
static void
no_finalizer(void *env)
{
}

static bool
continuation_ready(void *env)
{
    return true;
}

/* polled by Wasmtime while the guest waits on an async import: done once its future has an int */
static bool
continuation_pending(void *env)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    bool done = false;
    Crossing *st = (Crossing *)current;
    if (st != NULL && st->pending != NULL && st->pending != Py_None) {
        PyObject *fin = PyObject_CallMethodNoArgs(st->pending, str_done);
        int is_done = fin != NULL ? PyObject_IsTrue(fin) : -1;
        Py_XDECREF(fin);
        if (is_done > 0) {
            /* an exception or a non-int stays in the future: drive() fails the call with it */
            PyObject *value = PyObject_CallMethodNoArgs(st->pending, str_result);
            if (value != NULL && PyLong_Check(value)
                && (st->pending_nresults == 0 || write_result(st->pending_results, st->pending_kind, value) == 0)) {
                Py_XSETREF(st->pending, Py_NewRef(Py_None));
                Py_XSETREF(st->pending_label, Py_NewRef(Py_None));
                st->pending_results = NULL;
                done = true;
            }
            Py_XDECREF(value);
        }
    }
    PyErr_Clear();  /* never unwind into Wasmtime */
    PyGILState_Release(gil);
    return done;
}

static void
async_trampoline(void *env, void *caller, const wt_val_t *args, size_t nargs, wt_val_t *results, size_t nresults,
                 void **trap_ret, wt_continuation_t *cont)
{
    HostFn *h = env;
    /* Wasmtime polls the continuation even when a trap is returned: it must always be a valid
     * "done" callback, or the process aborts (a guest could crash the server) */
    cont->callback = continuation_ready;
    cont->env = NULL;
    cont->finalizer = no_finalizer;
    PyGILState_STATE gil = PyGILState_Ensure();
    Crossing *st = (Crossing *)current;
    PyObject *res = call_body(h, args, nargs);
    PyObject *task = NULL;
    if (res == NULL)
        goto fail;
    if (PyLong_Check(res)) {  /* the import had its answer at once (a local SQLite read) */
        if (nresults && write_result(&results[0], h->result_kind, res) < 0)
            goto fail;
        goto out;
    }
    task = PyObject_CallOneArg(schedule_fn, res);  /* ensure_future(res), or int(res) for a non-awaitable */
    if (task == NULL)
        goto fail;
    if (PyLong_Check(task)) {
        if (nresults && write_result(&results[0], h->result_kind, task) < 0)
            goto fail;
        goto out;
    }
    if (st == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "an async import was called outside a guest call");
        goto fail;
    }
    Py_XSETREF(st->pending, Py_NewRef(task));
    Py_XSETREF(st->pending_label, Py_NewRef(h->label));
    st->pending_results = results;
    st->pending_nresults = nresults;
    st->pending_kind = h->result_kind;
    cont->callback = continuation_pending;
    goto out;
fail:
    *trap_ret = trap_from_error(h->label);
out:
    Py_XDECREF(task);
    Py_XDECREF(res);
    PyGILState_Release(gil);
}

static PyObject *
fc_define(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (not_ready())
        return NULL;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "define(linker, module, name, functype, result_kind, fn, is_async, label)");
        return NULL;
    }
    void *linker, *ty;
    if (pointer_value(args[0], &linker) < 0 || pointer_value(args[3], &ty) < 0)
        return NULL;
    if (!PyBytes_Check(args[1]) || !PyBytes_Check(args[2]) || !PyUnicode_Check(args[7])) {
        PyErr_SetString(PyExc_TypeError, "define(): module and name are bytes, label is str");
        return NULL;
    }
    long kind = PyLong_AsLong(args[4]);
    if (kind == -1 && PyErr_Occurred())
        return NULL;
    int is_async = PyObject_IsTrue(args[6]);
    if (is_async < 0)
        return NULL;
    HostFn *h = PyObject_New(HostFn, &HostFnType);
    if (h == NULL)
        return NULL;
    h->fn = Py_NewRef(args[5]);
    h->label = Py_NewRef(args[7]);
    h->result_kind = (uint8_t)kind;
    define_fn define = is_async ? w_define_async_func : w_define_func;
    void *callback = is_async ? (void *)async_trampoline : (void *)sync_trampoline;
    /* no finalizer: like the ctypes callbacks, the HostFn is kept for as long as the process
     * (the caller keeps a reference), so a linker freed at exit never calls into Python */
    void *err = define(linker, PyBytes_AS_STRING(args[1]), (size_t)PyBytes_GET_SIZE(args[1]),
                       PyBytes_AS_STRING(args[2]), (size_t)PyBytes_GET_SIZE(args[2]), ty, callback, h, no_finalizer);
    return Py_BuildValue("Nn", (PyObject *)h, (Py_ssize_t)err);
}

/* ======================================================================================
 * Set-up: layouts, addresses, init
 * ====================================================================================== */

static PyObject *
fc_layout(PyObject *module, PyObject *unused)
{
    return Py_BuildValue(
        "{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}",
        "wasmtime_val_t", (Py_ssize_t)sizeof(wt_val_t),
        "wasmtime_val_t.of", (Py_ssize_t)offsetof(wt_val_t, of),
        "wasmtime_func_t", (Py_ssize_t)sizeof(wt_func_t),
        "wasmtime_memory_t", (Py_ssize_t)sizeof(wt_memory_t),
        "wasmtime_extern_t.of", (Py_ssize_t)offsetof(wt_extern_t, of),
        "wasmtime_instance_t", (Py_ssize_t)sizeof(wt_instance_t),
        "wasmtime_async_continuation_t", (Py_ssize_t)sizeof(wt_continuation_t),
        "wasmtime_async_continuation_t.callback", (Py_ssize_t)offsetof(wt_continuation_t, callback),
        "wasmtime_async_continuation_t.env", (Py_ssize_t)offsetof(wt_continuation_t, env),
        "wasmtime_async_continuation_t.finalizer", (Py_ssize_t)offsetof(wt_continuation_t, finalizer),
        "void*", (Py_ssize_t)sizeof(void *));
}

static PyObject *
fc_address(PyObject *module, PyObject *o)
{
    void *p;
    if (address_of(o, &p) < 0)
        return NULL;
    return PyLong_FromVoidPtr(p);
}

static PyObject *
fc_pointer_value(PyObject *module, PyObject *o)
{
    void *p;
    if (pointer_value(o, &p) < 0)
        return NULL;
    return PyLong_FromVoidPtr(p);
}

static int
take_pointer(PyObject *table, const char *name, void **out)
{
    PyObject *v = PyDict_GetItemString(table, name);  /* borrowed */
    if (v == NULL) {
        PyErr_Format(PyExc_KeyError, "init(): no address for %s", name);
        return -1;
    }
    *out = PyLong_AsVoidPtr(v);
    if (*out == NULL) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "init(): %s is NULL", name);
        return -1;
    }
    return 0;
}

static PyObject *
fc_init(PyObject *module, PyObject *args)
{
    PyObject *table, *gerr, *resume, *outcome, *schedule, *cdata, *carg;
    int i32, i64;
    if (!PyArg_ParseTuple(args, "O!iiOOOOO!O!:init", &PyDict_Type, &table, &i32, &i64, &gerr, &resume, &outcome,
                          &schedule, &PyType_Type, &cdata, &PyType_Type, &carg))
        return NULL;
    void *p[10];
    static const char *names[10] = {
        "wasmtime_func_call_async", "wasmtime_instance_pre_instantiate_async", "wasmtime_call_future_poll",
        "wasmtime_call_future_delete", "wasmtime_context_set_epoch_deadline", "wasmtime_memory_data",
        "wasmtime_memory_data_size", "wasmtime_trap_new", "wasmtime_linker_define_func",
        "wasmtime_linker_define_async_func",
    };
    for (int i = 0; i < 10; i++)
        if (take_pointer(table, names[i], &p[i]) < 0)
            return NULL;
    w_call_async = (call_async_fn)p[0];
    w_instantiate_async = (instantiate_async_fn)p[1];
    w_poll = (poll_fn)p[2];
    w_delete = (delete_fn)p[3];
    w_set_deadline = (set_deadline_fn)p[4];
    w_memory_data = (memory_data_fn)p[5];
    w_memory_size = (memory_size_fn)p[6];
    w_trap_new = (trap_new_fn)p[7];
    w_define_func = (define_fn)p[8];
    w_define_async_func = (define_fn)p[9];
    kind_i32 = i32;
    kind_i64 = i64;
    Py_XSETREF(guest_error, Py_NewRef(gerr));
    Py_XSETREF(resume_fn, Py_NewRef(resume));
    Py_XSETREF(outcome_fn, Py_NewRef(outcome));
    Py_XSETREF(schedule_fn, Py_NewRef(schedule));
    Py_XSETREF(cdata_type, (PyTypeObject *)Py_NewRef(cdata));
    Py_XSETREF(carg_type, (PyTypeObject *)Py_NewRef(carg));
    ready = 1;
    Py_RETURN_NONE;
}

static PyObject *
fc_set_types(PyObject *module, PyObject *args)
{
    /* the ctypes types alone, so address()/pointer_value() can be checked before init() */
    PyObject *cdata, *carg;
    if (!PyArg_ParseTuple(args, "O!O!:set_types", &PyType_Type, &cdata, &PyType_Type, &carg))
        return NULL;
    Py_XSETREF(cdata_type, (PyTypeObject *)Py_NewRef(cdata));
    Py_XSETREF(carg_type, (PyTypeObject *)Py_NewRef(carg));
    Py_RETURN_NONE;
}

static PyMethodDef fc_methods[] = {
    {"call", (PyCFunction)(void (*)(void))fc_call, METH_FASTCALL,
     "call(state, func, args, nargs, results, nresults, deadline) -> awaitable of None | exit status"},
    {"instantiate", (PyCFunction)(void (*)(void))fc_instantiate, METH_FASTCALL,
     "instantiate(state, pre, instance_out, deadline) -> awaitable"},
    {"define", (PyCFunction)(void (*)(void))fc_define, METH_FASTCALL,
     "define(linker, module, name, functype, result_kind, fn, is_async, label) -> (HostFn, error address)"},
    {"layout", fc_layout, METH_NOARGS, "sizes and offsets of the structs this module declares"},
    {"address", fc_address, METH_O, "the address this module reads from a ctypes object or byref()"},
    {"pointer_value", fc_pointer_value, METH_O, "the value this module reads from a ctypes pointer"},
    {"set_types", fc_set_types, METH_VARARGS, "set_types(cdata_type, byref_type)"},
    {"init", fc_init, METH_VARARGS, "init(addresses, i32, i64, GuestError, resume, outcome, schedule, cdata, byref)"},
    {NULL}
};

static struct PyModuleDef fc_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "wasm_server.engine._fastcall",
    .m_doc = "The compiled per-request crossing into Wasmtime (see wasm_server/engine/fastcall.py).",
    .m_size = -1,
    .m_methods = fc_methods,
};

PyMODINIT_FUNC
PyInit__fastcall(void)
{
    if (PyType_Ready(&CrossingType) < 0 || PyType_Ready(&DoneType) < 0 || PyType_Ready(&FutureType) < 0
        || PyType_Ready(&HostFnType) < 0)
        return NULL;
    str_done = PyUnicode_InternFromString("done");
    str_result = PyUnicode_InternFromString("result");
    if (str_done == NULL || str_result == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&fc_module);
    if (m == NULL)
        return NULL;
    DONE = PyObject_New(PyObject, &DoneType);
    if (DONE == NULL || PyModule_AddObjectRef(m, "DONE", DONE) < 0
        || PyModule_AddObjectRef(m, "Crossing", (PyObject *)&CrossingType) < 0
        || PyModule_AddObjectRef(m, "Future", (PyObject *)&FutureType) < 0
        || PyModule_AddIntConstant(m, "ABI", FASTCALL_ABI) < 0
        || PyModule_AddStringConstant(m, "SOURCE_SHA256", FASTCALL_SOURCE_SHA256) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
