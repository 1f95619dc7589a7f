// meshos-launcher: starts task processes for the meshos executor the way posix_spawn() does (see
// below), in their cgroups and as their user, copies their output into size-capped log files and
// reports their exits.
//
// Why it exists: Node's child_process forks its caller. On the VMs meshos runs on (measured on a
// 2-core Firecracker guest) fork() costs 5-10 ms however small the parent, because copying page
// tables is slow there; glibc's posix_spawn() uses clone(CLONE_VM|CLONE_VFORK), which copies
// nothing: 0.3 ms per spawn, and 349 spawns/s against 132/s for child_process on the same machine.
// Spawning is most of what a worker does, so this is the executor's hot path. Everything else
// (admission, timeouts, memory limits, kills) stays in TypeScript; this program only does what
// needs the system calls Node does not expose.
//
// Protocol, on stdin/stdout, little-endian, one executor per launcher:
//   request  := u32 length, then `length` bytes: u32 type, u32 id, body
//     SPAWN (1) body := u64 maxLogBytes, 6 NUL-terminated strings (file, cwd, stdout log,
//                       stderr log, stdout truncation marker, stderr truncation marker),
//                       u32 argc, argc strings (argv[0] first), u32 envc, envc "NAME=value" strings,
//                       u32 uid, u32 gid (0xffffffff: run as the launcher's own user), u64 maxFileBytes
//                       (RLIMIT_FSIZE, soft and hard; 0: inherited), u32 cgroupc, cgroupc paths of
//                       cgroup.procs files the task joins before it runs anything.
//                       cwd is created first (mode 0700, missing parents 0711), owned by uid:gid when
//                       given; if it was there already (the same attempt relaunched after a restart),
//                       its truncation markers are removed, as the logs start afresh
//     CLOSE_OUTPUT (2) body := empty. Stop copying the task's output now (its main process is
//                       gone but something escaped its group and holds the pipes open).
//   event    := 24 bytes: u32 type, u32 id, i32 a, i32 b, u64 c
//     SPAWNED (1)      a = pid (also the process group: the task gets its own session)
//     SPAWN_FAILED (2) a = errno, b = stage (1 open stdout log, 2 open stderr log, 3 pipe, 4 spawn,
//                      5 create cwd, 6 join a cgroup, 7 become uid:gid, 8 enter cwd as that user,
//                      9 set the file-size limit)
//     EXITED (3)       a = exit code or -1, b = signal number or 0. Whatever was left in the
//                      task's process group was SIGKILLed before the main process was reaped
//                      (while its zombie still holds the pid, so the group id cannot be reused)
//     CLOSED (4)       a = bit 0: stdout was truncated at the cap, bit 1: stderr was; both output
//                      pipes reached EOF (or were closed on request) and the log files are closed
//     START_TIME (5)   c = start time in clock ticks since boot (field 22 of /proc/pid/stat), for
//                      a task still running START_TIME_DELAY_MS after its spawn; never after
//                      its EXITED
//   For one id, SPAWNED comes first; the others in any order.
//
// Lifetime: when stdin reaches EOF (its Node process exited, however it exited) every task group
// that is still alive is SIGKILLed and the launcher exits: nobody is left to account for them.
// Started with `--cgroup DIR` (the node's cgroup in each hierarchy, repeated), it also kills every
// process in each attempt cgroup under those directories and removes them, and then the
// directories themselves: an agent that died leaves neither processes nor cgroups behind.
// SIGINT, SIGTERM and SIGHUP are ignored (EOF is the only way to stop it short of SIGKILL).
// A request it cannot parse is a bug in the executor: the launcher says so on stderr, kills its
// task groups and exits 2, and its agent stops (fail-stop, as for any death of the launcher).
//
// Files in a task's directory are the task's to tamper with: logs and markers are opened without
// following symlinks and without blocking (a FIFO there would otherwise hang the launcher in
// open()), and anything that is not a regular file with a single link is refused (a hard link to
// another file would otherwise be truncated).
//
// Tasks are started with clone(CLONE_VM | CLONE_VFORK), as glibc's posix_spawn() does (it copies no
// page tables), but with a child of our own: posix_spawn cannot join a cgroup, drop privileges or
// set a resource limit between fork and exec. Measured on the 2-core VM: 0.07-0.09 ms per spawn
// call against 0.11-0.16 for posix_spawn; joining three cgroup-v1 hierarchies and dropping to
// another user adds ~0.17 ms. Exec'ing a helper that does the same after posix_spawn cost a whole
// extra exec: 1.7-1.9 ms per task against 1.0-1.2 for a spawn, wait and cgroup mkdir/rmdir cycle.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { REQ_SPAWN = 1, REQ_CLOSE_OUTPUT = 2 };
enum { EV_SPAWNED = 1, EV_SPAWN_FAILED = 2, EV_EXITED = 3, EV_CLOSED = 4, EV_START_TIME = 5 };
enum {
  STAGE_STDOUT_LOG = 1,
  STAGE_STDERR_LOG = 2,
  STAGE_PIPE = 3,
  STAGE_SPAWN = 4,
  STAGE_WORK_DIR = 5,
  STAGE_CGROUP = 6,
  STAGE_USER = 7,
  STAGE_ENTER_WORK_DIR = 8,
  STAGE_FILE_LIMIT = 9,
};
#define SAME_USER 0xffffffffu
// More is a bug upstream: a task joins one cgroup per mounted hierarchy.
#define MAX_CGROUPS 8

// A request larger than this is not something the executor sends (argv and env are bounded far
// below it upstream); reading it would only let a bug exhaust memory.
#define MAX_REQUEST_BYTES (64u * 1024u * 1024u)
#define COPY_CHUNK_BYTES 65536
// Reading /proc/<pid>/stat right after posix_spawn() returns waits for the child's exec to finish
// (measured: 1.6 ms of the launcher's time per spawn); a few milliseconds later it costs
// microseconds. The start time only guards pid files against pid reuse, so it can wait.
#define START_TIME_DELAY_MS 5

struct output {
  int pipe_fd; // read end; -1 once at EOF or closed on request
  int log_fd;  // -1 once closed
  uint64_t written_bytes;
  int dropping; // past the cap or after a write error: read and discard
  int truncated; // output went past the cap
  char *marker_path;
  char *log_path;
};

struct task {
  uint32_t id;
  pid_t pid;
  int exited;
  int start_time_due; // START_TIME not yet sent
  int64_t spawned_at_ms;
  uint64_t max_log_bytes;
  struct output out[2];
  char *cgroup_procs; // the first cgroup.procs it joined (each lists the same processes), or NULL
};

static struct task **tasks;
static size_t task_count, task_capacity;
extern char **environ;

static void kill_all_and_exit(int code);

static void die(const char *what) {
  fprintf(stderr, "meshos-launcher: %s: %s\n", what, strerror(errno));
  kill_all_and_exit(1);
}

// Opens (creating, emptying) a regular file for writing; -1 with errno set for anything else.
// Emptied only once it is known to be a file of its own: O_TRUNC would truncate whatever a hard
// link planted there points to.
static int open_regular_for_write(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return -1; // a FIFO without a reader: ENXIO; a symlink: ELOOP
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || ftruncate(fd, 0) < 0) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  // Back to blocking: writes to a regular file never wait on anyone else.
  fcntl(fd, F_SETFL, 0);
  return fd;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n == 0 ? 1 : n);
  if (p == NULL) die("out of memory");
  return p;
}

static void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      // The executor is gone (EPIPE): same as EOF on stdin, handled by the caller's next read.
      if (fd == STDOUT_FILENO) return;
      die("write");
    }
    p += n;
    len -= (size_t)n;
  }
}

static void put_u32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put_u64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint32_t get_u32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get_u64(const unsigned char *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

static void emit(uint32_t type, uint32_t id, int32_t a, int32_t b, uint64_t c) {
  unsigned char rec[24];
  put_u32(rec, type);
  put_u32(rec + 4, id);
  put_u32(rec + 8, (uint32_t)a);
  put_u32(rec + 12, (uint32_t)b);
  put_u64(rec + 16, c);
  write_all(STDOUT_FILENO, rec, sizeof rec);
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void free_task(size_t index) {
  struct task *t = tasks[index];
  for (int s = 0; s < 2; s++) {
    close_fd(&t->out[s].pipe_fd);
    close_fd(&t->out[s].log_fd);
    free(t->out[s].marker_path);
    free(t->out[s].log_path);
  }
  free(t->cgroup_procs);
  free(t);
  tasks[index] = tasks[--task_count];
}

static void maybe_forget(size_t index) {
  struct task *t = tasks[index];
  if (t->exited && t->out[0].pipe_fd < 0 && t->out[1].pipe_fd < 0) free_task(index);
}

static void finish_output_if_closed(struct task *t) {
  if (t->out[0].pipe_fd >= 0 || t->out[1].pipe_fd >= 0) return;
  if (t->out[0].log_fd < 0 && t->out[1].log_fd < 0) return; // already reported
  int truncated = 0;
  for (int s = 0; s < 2; s++) {
    if (t->out[s].truncated) truncated |= 1 << s;
    close_fd(&t->out[s].log_fd);
  }
  emit(EV_CLOSED, t->id, truncated, 0, 0);
}

static void mark_truncated(struct output *o) {
  int fd = open_regular_for_write(o->marker_path);
  if (fd >= 0) close(fd);
}

// Copies what the pipe has into the log, up to the cap; past it (or after a write error such as a
// full disk) keeps reading and drops the bytes, so a chatty task never blocks on its own output.
static void copy_output(struct task *t, struct output *o) {
  static char buf[COPY_CHUNK_BYTES];
  ssize_t n = read(o->pipe_fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    close_fd(&o->pipe_fd);
    finish_output_if_closed(t);
    return;
  }
  if (o->dropping) return;
  size_t room = t->max_log_bytes - o->written_bytes;
  size_t keep = (size_t)n < room ? (size_t)n : room;
  const char *p = buf;
  size_t left = keep;
  while (left > 0) {
    ssize_t w = write(o->log_fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      // The rest of the stream is lost either way (a full disk, say); the task must not stall on it.
      fprintf(stderr, "meshos-launcher: writing %s: %s; dropping the rest of this stream\n", o->log_path, strerror(errno));
      o->dropping = 1;
      return;
    }
    p += w;
    left -= (size_t)w;
  }
  o->written_bytes += keep;
  if (keep < (size_t)n) {
    o->dropping = o->truncated = 1;
    mark_truncated(o);
  }
}

struct cursor {
  const unsigned char *p, *end;
};

static int take_u32(struct cursor *c, uint32_t *v) {
  if (c->end - c->p < 4) return -1;
  *v = get_u32(c->p);
  c->p += 4;
  return 0;
}

static int take_string(struct cursor *c, const char **s) {
  const unsigned char *nul = memchr(c->p, 0, (size_t)(c->end - c->p));
  if (nul == NULL) return -1;
  *s = (const char *)c->p;
  c->p = nul + 1;
  return 0;
}

static int take_strings(struct cursor *c, char ***out) {
  uint32_t count;
  if (take_u32(c, &count) < 0 || count > (uint32_t)(c->end - c->p)) return -1;
  char **list = xmalloc(((size_t)count + 1) * sizeof *list);
  for (uint32_t i = 0; i < count; i++) {
    if (take_string(c, (const char **)&list[i]) < 0) {
      free(list);
      return -1;
    }
  }
  list[count] = NULL;
  *out = list;
  return 0;
}

static uint64_t read_start_time(pid_t pid) {
  char path[64], text[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = 0;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  char *p = strrchr(text, ')');
  if (p == NULL) return 0;
  for (int field = 2; field < 22 && p != NULL; field++) p = strchr(p + 1, ' ');
  return p == NULL ? 0 : strtoull(p + 1, NULL, 10);
}

static const char *task_path(char **envp) {
  for (char **e = envp; *e != NULL; e++) if (strncmp(*e, "PATH=", 5) == 0) return *e + 5;
  return NULL;
}

// What the child of clone() needs, and where it leaves why it failed: it shares our memory, and we
// are suspended until it has exec'd or exited (CLONE_VFORK).
struct child_spec {
  const char *file;
  const char *cwd;
  char **argv;
  char **envp;
  int stdout_fd, stderr_fd;
  int cgroup_fds[MAX_CGROUPS];
  int cgroup_count;
  uint32_t uid, gid;
  uint64_t max_file_bytes;
  int failed_errno;
  int failed_stage;
};

// The child's stack: it runs on it until exec. Large enough for execvpe's buffers (a PATH entry
// plus the file name, and argv again for a script run with /bin/sh).
static char child_stack[256 * 1024] __attribute__((aligned(16)));

static int child_fail(struct child_spec *c, int stage) {
  c->failed_errno = errno;
  c->failed_stage = stage;
  _exit(127);
}

// Between clone and exec, in this order: its own session and process group (pgid = pid, so one
// kill(-pid) reaches the whole task), its cgroups (before it can fork), the file-size limit, its
// standard streams, its user (groups first; nothing after this needs privileges), its working
// directory (entered as that user, so a directory it cannot use fails here and says so), default
// signal dispositions and an empty mask (the launcher's own are not the task's business), and the
// program: execvpe finds a bare name on the PATH of our environ, which the caller set to the task's,
// and runs a file without #! (ENOEXEC) with /bin/sh, as execvp and Node's spawn do.
// Only system calls here: this runs on our memory while we wait.
static int child_main(void *arg) {
  struct child_spec *c = arg;
  if (setsid() < 0) child_fail(c, STAGE_SPAWN);
  for (int i = 0; i < c->cgroup_count; i++) {
    if (write(c->cgroup_fds[i], "0", 1) != 1) child_fail(c, STAGE_CGROUP);
  }
  if (c->max_file_bytes > 0) {
    struct rlimit limit = { c->max_file_bytes, c->max_file_bytes };
    if (setrlimit(RLIMIT_FSIZE, &limit) < 0) child_fail(c, STAGE_FILE_LIMIT);
  }
  int in = open("/dev/null", O_RDONLY);
  if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(c->stdout_fd, STDOUT_FILENO) < 0 ||
      dup2(c->stderr_fd, STDERR_FILENO) < 0)
    child_fail(c, STAGE_SPAWN);
  if (in > STDERR_FILENO) close(in);
  if (c->uid != SAME_USER) {
    // The raw system calls: glibc's wrappers would try to change every thread of "the process",
    // and this child shares the launcher's memory.
    if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
        syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
      child_fail(c, STAGE_USER);
  }
  if (chdir(c->cwd) < 0) child_fail(c, STAGE_ENTER_WORK_DIR);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL); // EINVAL for glibc's own: fine
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execvpe(c->file, c->argv, c->envp);
  return child_fail(c, STAGE_SPAWN);
}

// Starts the task; 0 and *pid set, or the errno and *stage of what failed (nothing left running).
static int spawn_child(struct child_spec *c, pid_t *pid, int *stage) {
  const char *path = task_path(c->envp);
  char path_var[8192];
  char *search_env[] = { path_var, NULL };
  char *no_env[] = { NULL };
  int path_fits = path == NULL || snprintf(path_var, sizeof path_var, "PATH=%s", path) < (int)sizeof path_var;
  char **saved_env = environ;
  sigset_t all, saved_mask;
  sigfillset(&all);
  // No signal may be handled in the child on our memory before it has reset the dispositions.
  sigprocmask(SIG_SETMASK, &all, &saved_mask);
  environ = path == NULL || !path_fits ? no_env : search_env;
  c->failed_errno = 0;
  c->failed_stage = 0;
  pid_t child = clone(child_main, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, c);
  int clone_errno = errno;
  environ = saved_env;
  sigprocmask(SIG_SETMASK, &saved_mask, NULL);
  if (child < 0) {
    *stage = STAGE_SPAWN;
    return clone_errno;
  }
  if (c->failed_stage != 0) {
    // It has exited (CLONE_VFORK returns only after exec or exit): reap it here, reap() never
    // hears of it as a task.
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
    *stage = c->failed_stage;
    return c->failed_errno;
  }
  *pid = child;
  return 0;
}

// Creates dir (mode `mode`) and whatever parents are missing (0711: a task user may pass through
// to its own directory, but not list the others). Returns 1 if dir was created, 0 if it existed,
// -1 with errno set. Here and not in the executor: a mkdir from Node is two or three trips
// through its thread pool per task, which on the VMs measured cost more than the mkdir itself.
static int make_dirs(const char *dir, mode_t mode) {
  if (mkdir(dir, mode) == 0) return 1;
  if (errno == EEXIST) return 0;
  if (errno != ENOENT) return -1;
  const char *slash = strrchr(dir, '/');
  if (slash == NULL || slash == dir) return -1;
  size_t parent_len = (size_t)(slash - dir);
  char *parent = xmalloc(parent_len + 1);
  memcpy(parent, dir, parent_len);
  parent[parent_len] = '\0';
  int made = make_dirs(parent, 0711);
  int saved_errno = errno;
  free(parent);
  errno = saved_errno;
  if (made < 0) return -1;
  if (mkdir(dir, mode) == 0) return 1;
  return errno == EEXIST ? 0 : -1;
}

static void spawn_task(uint32_t id, struct cursor *c) {
  const char *file, *cwd, *log_path[2], *marker[2];
  char **argv = NULL, **envp = NULL, **cgroup_procs = NULL;
  uint32_t uid, gid, cgroup_count = 0;
  uint64_t max_file_bytes;
  if (c->end - c->p < 8) goto malformed;
  uint64_t max_log_bytes = get_u64(c->p);
  c->p += 8;
  if (take_string(c, &file) < 0 || take_string(c, &cwd) < 0 || take_string(c, &log_path[0]) < 0 ||
      take_string(c, &log_path[1]) < 0 || take_string(c, &marker[0]) < 0 || take_string(c, &marker[1]) < 0 ||
      take_strings(c, &argv) < 0 || take_strings(c, &envp) < 0 || argv[0] == NULL || take_u32(c, &uid) < 0 ||
      take_u32(c, &gid) < 0 || c->end - c->p < 8) {
    goto malformed;
  }
  max_file_bytes = get_u64(c->p);
  c->p += 8;
  if (take_strings(c, &cgroup_procs) < 0 || c->p != c->end) goto malformed;
  while (cgroup_procs[cgroup_count] != NULL) cgroup_count++;
  if (cgroup_count > MAX_CGROUPS || (uid == SAME_USER) != (gid == SAME_USER)) goto malformed;

  struct task *t = xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->id = id;
  t->max_log_bytes = max_log_bytes;
  for (int s = 0; s < 2; s++) {
    t->out[s].pipe_fd = t->out[s].log_fd = -1;
    t->out[s].marker_path = strdup(marker[s]);
    t->out[s].log_path = strdup(log_path[s]);
    if (t->out[s].marker_path == NULL || t->out[s].log_path == NULL) die("out of memory");
  }
  int pipes[2][2] = { { -1, -1 }, { -1, -1 } };
  struct child_spec child = { .file = file, .cwd = cwd, .argv = argv, .envp = envp, .uid = uid, .gid = gid,
                              .max_file_bytes = max_file_bytes };
  int stage = 0, err = 0;
  int made = make_dirs(cwd, 0700);
  if (made < 0) {
    stage = STAGE_WORK_DIR, err = errno;
  } else if (made == 0) {
    // Gone or removed, or the relaunch would report its fresh logs truncated.
    for (int s = 0; s < 2 && stage == 0; s++) {
      if (unlink(marker[s]) < 0 && errno != ENOENT) stage = STAGE_WORK_DIR, err = errno;
    }
  }
  // Its parent is ours (0711), so cwd itself cannot have been swapped for a link by a task.
  if (stage == 0 && uid != SAME_USER && lchown(cwd, uid, gid) < 0) stage = STAGE_WORK_DIR, err = errno;
  for (int s = 0; s < 2 && stage == 0; s++) {
    t->out[s].log_fd = open_regular_for_write(log_path[s]);
    if (t->out[s].log_fd < 0) stage = s == 0 ? STAGE_STDOUT_LOG : STAGE_STDERR_LOG, err = errno;
  }
  for (int s = 0; s < 2 && stage == 0; s++) {
    if (pipe2(pipes[s], O_CLOEXEC) < 0) stage = STAGE_PIPE, err = errno;
  }
  for (uint32_t i = 0; i < cgroup_count && stage == 0; i++) {
    child.cgroup_fds[child.cgroup_count] = open(cgroup_procs[i], O_WRONLY | O_CLOEXEC);
    if (child.cgroup_fds[child.cgroup_count] < 0) stage = STAGE_CGROUP, err = errno;
    else child.cgroup_count++;
  }

  pid_t pid = -1;
  if (stage == 0) {
    child.stdout_fd = pipes[0][1];
    child.stderr_fd = pipes[1][1];
    err = spawn_child(&child, &pid, &stage);
  }
  for (int i = 0; i < child.cgroup_count; i++) close(child.cgroup_fds[i]);
  for (int s = 0; s < 2; s++) close_fd(&pipes[s][1]);
  free(argv);
  free(envp);

  if (stage != 0) {
    free(cgroup_procs);
    for (int s = 0; s < 2; s++) close_fd(&pipes[s][0]);
    emit(EV_SPAWN_FAILED, id, err, stage, 0);
    for (int s = 0; s < 2; s++) {
      close_fd(&t->out[s].log_fd);
      free(t->out[s].marker_path);
      free(t->out[s].log_path);
    }
    free(t);
    return;
  }
  t->pid = pid;
  if (cgroup_count > 0 && (t->cgroup_procs = strdup(cgroup_procs[0])) == NULL) die("out of memory");
  free(cgroup_procs);
  t->start_time_due = 1;
  t->spawned_at_ms = now_ms();
  for (int s = 0; s < 2; s++) {
    t->out[s].pipe_fd = pipes[s][0];
    fcntl(t->out[s].pipe_fd, F_SETFL, O_NONBLOCK);
  }
  if (task_count == task_capacity) {
    task_capacity = task_capacity == 0 ? 64 : task_capacity * 2;
    tasks = realloc(tasks, task_capacity * sizeof *tasks);
    if (tasks == NULL) die("out of memory");
  }
  tasks[task_count++] = t;
  emit(EV_SPAWNED, id, pid, 0, 0);
  return;

malformed:
  free(argv);
  free(envp);
  free(cgroup_procs);
  fprintf(stderr, "meshos-launcher: malformed spawn request %u\n", id);
  kill_all_and_exit(2);
}

static void close_output(uint32_t id) {
  for (size_t i = 0; i < task_count; i++) {
    struct task *t = tasks[i];
    if (t->id != id) continue;
    for (int s = 0; s < 2; s++) close_fd(&t->out[s].pipe_fd);
    finish_output_if_closed(t);
    maybe_forget(i);
    return;
  }
}

// Returns the poll timeout: -1 when no start time is due later.
static int send_due_start_times(void) {
  int64_t now = now_ms(), wait_ms = -1;
  for (size_t i = 0; i < task_count; i++) {
    struct task *t = tasks[i];
    if (!t->start_time_due || t->exited) continue;
    int64_t due_in = t->spawned_at_ms + START_TIME_DELAY_MS - now;
    if (due_in > 0) {
      if (wait_ms < 0 || due_in < wait_ms) wait_ms = due_in;
      continue;
    }
    // Not yet reaped (only this thread reaps), so /proc still describes this very process.
    t->start_time_due = 0;
    emit(EV_START_TIME, t->id, 0, 0, read_start_time(t->pid));
  }
  return (int)wait_ms;
}

static void reap(void) {
  for (;;) {
    // Look before reaping: while the zombie exists its pid, and so the group id, cannot be reused,
    // so the group kill below reaches this task's leftovers and nobody else.
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid == 0) return;
    pid_t pid = info.si_pid;
    kill(-pid, SIGKILL); // ESRCH when the group is already empty, the usual case
    int status;
    if (waitpid(pid, &status, 0) < 0) continue;
    for (size_t i = 0; i < task_count; i++) {
      struct task *t = tasks[i];
      // An exited task stays listed while something holds its pipes: its pid may be a new task's.
      if (t->pid != pid || t->exited) continue;
      t->exited = 1;
      if (WIFEXITED(status)) emit(EV_EXITED, t->id, WEXITSTATUS(status), 0, 0);
      else emit(EV_EXITED, t->id, -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0, 0);
      maybe_forget(i);
      break;
    }
  }
}

// SIGKILLs every process listed in a task's cgroup, again until none is left (a process may fork
// between the read and its kill; pids.max bounds how many). For what escaped the task's process
// group (setsid) when nobody is left to do it: the agent's next start removes what remains.
static void kill_cgroup(const char *procs_path) {
  for (int round = 0; round < 10; round++) {
    int fd = open(procs_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    int killed = 0;
    while ((n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) {
      len += (size_t)n;
      buf[len] = 0;
      char *line = buf, *nl;
      while ((nl = strchr(line, '\n')) != NULL) {
        *nl = 0;
        pid_t pid = (pid_t)atoi(line);
        if (pid > 0 && kill(pid, SIGKILL) == 0) killed++;
        line = nl + 1;
      }
      len = strlen(line);
      memmove(buf, line, len);
    }
    close(fd);
    if (killed == 0) return;
  }
}

static char **node_cgroups;
static int node_cgroup_count;
// A SIGKILLed process leaves its cgroup within microseconds, unless stuck in the kernel; an exit
// waits at most this long for all of them, so a stuck one cannot keep the launcher alive.
#define CGROUP_REMOVE_WAIT_MS 2000

// Kills and removes every attempt cgroup under the node's directories, then those directories.
static void remove_node_cgroups(void) {
  int64_t deadline = now_ms() + CGROUP_REMOVE_WAIT_MS;
  for (int n = 0; n < node_cgroup_count; n++) {
    DIR *dir = opendir(node_cgroups[n]);
    if (dir == NULL) continue;
    struct dirent *entry;
    char path[4096];
    while ((entry = readdir(dir)) != NULL) {
      if (entry->d_type != DT_DIR || strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
      if (snprintf(path, sizeof path, "%s/%s/cgroup.procs", node_cgroups[n], entry->d_name) >= (int)sizeof path) continue;
      kill_cgroup(path);
      *strrchr(path, '/') = 0;
      while (rmdir(path) < 0 && errno == EBUSY && now_ms() < deadline) {
        kill_cgroup(path);
        struct timespec pause = { 0, 2 * 1000 * 1000 };
        nanosleep(&pause, NULL);
      }
    }
    closedir(dir);
    rmdir(node_cgroups[n]);
  }
}

static void kill_all_and_exit(int code) {
  for (size_t i = 0; i < task_count; i++) {
    if (!tasks[i]->exited) kill(-tasks[i]->pid, SIGKILL);
    if (tasks[i]->cgroup_procs != NULL) kill_cgroup(tasks[i]->cgroup_procs);
  }
  remove_node_cgroups();
  exit(code);
}

// Consumes every complete request in buf[0..*len) and keeps the incomplete tail.
static void handle_requests(unsigned char *buf, size_t *len) {
  size_t at = 0;
  while (*len - at >= 4) {
    uint32_t size = get_u32(buf + at);
    if (size > MAX_REQUEST_BYTES || size < 8) {
      fprintf(stderr, "meshos-launcher: request of %u bytes\n", size);
      kill_all_and_exit(2);
    }
    if (*len - at - 4 < size) break;
    struct cursor c = { buf + at + 4, buf + at + 4 + size };
    uint32_t type = get_u32(c.p), id = get_u32(c.p + 4);
    c.p += 8;
    if (type == REQ_SPAWN) spawn_task(id, &c);
    else if (type == REQ_CLOSE_OUTPUT) close_output(id);
    else {
      fprintf(stderr, "meshos-launcher: unknown request type %u\n", type);
      kill_all_and_exit(2);
    }
    at += 4 + size;
  }
  memmove(buf, buf + at, *len - at);
  *len -= at;
}

int main(int argc, char **argv) {
  node_cgroups = xmalloc((size_t)argc * sizeof *node_cgroups);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--cgroup") == 0 && i + 1 < argc) {
      node_cgroups[node_cgroup_count++] = argv[++i];
    } else {
      fprintf(stderr, "meshos-launcher: unknown argument %s (usage: meshos-launcher [--cgroup DIR]...)\n", argv[i]);
      return 2;
    }
  }
  // The executor may run many tasks at once, each holding four descriptors here.
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  signal(SIGPIPE, SIG_IGN);
  // With a file-size limit (RLIMIT_FSIZE) a long log write fails with EFBIG instead of killing us.
  signal(SIGXFSZ, SIG_IGN);
  // A Ctrl-C in a terminal reaches the whole process group (agent, launcher) at once;
  // this process must outlive the agent's graceful stop, and its end comes as EOF on stdin.
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0) die("sigprocmask");
  int sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sig_fd < 0) die("signalfd");

  size_t in_capacity = 1 << 16, in_len = 0;
  unsigned char *in = xmalloc(in_capacity);
  struct pollfd *fds = NULL;
  size_t fds_capacity = 0;

  for (;;) {
    size_t wanted = 2 + 2 * task_count;
    if (wanted > fds_capacity) {
      fds_capacity = wanted * 2;
      fds = realloc(fds, fds_capacity * sizeof *fds);
      if (fds == NULL) die("out of memory");
    }
    fds[0] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
    fds[1] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
    size_t n = 2;
    for (size_t i = 0; i < task_count; i++) {
      for (int s = 0; s < 2; s++) if (tasks[i]->out[s].pipe_fd >= 0) fds[n++] = (struct pollfd){ .fd = tasks[i]->out[s].pipe_fd, .events = POLLIN };
    }
    if (poll(fds, n, send_due_start_times()) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }

    // Output before exits, so that whatever a task wrote just before exiting is copied promptly.
    for (size_t k = 2; k < n; k++) {
      if (fds[k].revents == 0) continue;
      for (size_t i = 0; i < task_count; i++) {
        struct task *t = tasks[i];
        int s = t->out[0].pipe_fd == fds[k].fd ? 0 : t->out[1].pipe_fd == fds[k].fd ? 1 : -1;
        if (s < 0) continue;
        copy_output(t, &t->out[s]);
        maybe_forget(i);
        break;
      }
    }
    if (fds[1].revents != 0) {
      struct signalfd_siginfo info;
      while (read(sig_fd, &info, sizeof info) == sizeof info) {}
      reap();
    }
    if (fds[0].revents != 0) {
      if (in_capacity - in_len < COPY_CHUNK_BYTES) {
        in_capacity *= 2;
        in = realloc(in, in_capacity);
        if (in == NULL) die("out of memory");
      }
      ssize_t got = read(STDIN_FILENO, in + in_len, in_capacity - in_len);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) kill_all_and_exit(0);
      in_len += (size_t)got;
      handle_requests(in, &in_len);
    }
  }
}
