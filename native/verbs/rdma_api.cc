#include "verbs/rdma_api.h"

#include "common/dl_compat.h"

namespace fabric {
namespace {

struct Loaded {
  RdmaApi api{};
  bool ok = false;
  std::string error;
};

template <typename Fn>
bool Resolve(void* library, const char* symbol, Fn& slot, std::string& error) {
  slot = reinterpret_cast<Fn>(dlsym(library, symbol));
  if (slot == nullptr && error.empty()) error = std::string("missing symbol ") + symbol;
  return slot != nullptr;
}

Loaded LoadAll() {
  Loaded loaded;
  std::string& error = loaded.error;
  void* verbs = dlopen("libibverbs.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (verbs == nullptr) {
    error = std::string(
                "cannot load libibverbs.so.1 (install rdma-core: Debian/Ubuntu ibverbs-providers, RHEL "
                "rdma-core): ") +
            dlerror();
    return loaded;
  }
  void* cm = dlopen("librdmacm.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (cm == nullptr) {
    error =
        std::string(
            "cannot load librdmacm.so.1 (install rdma-core: Debian/Ubuntu librdmacm1, RHEL librdmacm): ") +
        dlerror();
    return loaded;
  }
  RdmaApi& a = loaded.api;
  Resolve(verbs, "ibv_get_device_list", a.get_device_list, error);
  Resolve(verbs, "ibv_free_device_list", a.free_device_list, error);
  Resolve(verbs, "ibv_get_device_name", a.get_device_name, error);
  Resolve(verbs, "ibv_open_device", a.open_device, error);
  Resolve(verbs, "ibv_close_device", a.close_device, error);
  Resolve(verbs, "ibv_query_device", a.query_device, error);
  Resolve(verbs, "ibv_query_port", a.query_port, error);
  Resolve(verbs, "ibv_alloc_pd", a.alloc_pd, error);
  Resolve(verbs, "ibv_dealloc_pd", a.dealloc_pd, error);
  Resolve(verbs, "ibv_reg_mr", a.reg_mr, error);
  Resolve(verbs, "ibv_dereg_mr", a.dereg_mr, error);
  Resolve(verbs, "ibv_create_comp_channel", a.create_comp_channel, error);
  Resolve(verbs, "ibv_destroy_comp_channel", a.destroy_comp_channel, error);
  Resolve(verbs, "ibv_create_cq", a.create_cq, error);
  Resolve(verbs, "ibv_destroy_cq", a.destroy_cq, error);
  Resolve(verbs, "ibv_get_cq_event", a.get_cq_event, error);
  Resolve(verbs, "ibv_ack_cq_events", a.ack_cq_events, error);
  Resolve(verbs, "ibv_wc_status_str", a.wc_status_str, error);
  Resolve(verbs, "ibv_fork_init", a.fork_init, error);
  Resolve(cm, "rdma_create_event_channel", a.create_event_channel, error);
  Resolve(cm, "rdma_destroy_event_channel", a.destroy_event_channel, error);
  Resolve(cm, "rdma_create_id", a.create_id, error);
  Resolve(cm, "rdma_destroy_id", a.destroy_id, error);
  Resolve(cm, "rdma_bind_addr", a.bind_addr, error);
  Resolve(cm, "rdma_resolve_addr", a.resolve_addr, error);
  Resolve(cm, "rdma_resolve_route", a.resolve_route, error);
  Resolve(cm, "rdma_create_qp", a.create_qp, error);
  Resolve(cm, "rdma_destroy_qp", a.destroy_qp, error);
  Resolve(cm, "rdma_connect", a.connect, error);
  Resolve(cm, "rdma_listen", a.listen, error);
  Resolve(cm, "rdma_accept", a.accept, error);
  Resolve(cm, "rdma_reject", a.reject, error);
  Resolve(cm, "rdma_disconnect", a.disconnect, error);
  Resolve(cm, "rdma_get_cm_event", a.get_cm_event, error);
  Resolve(cm, "rdma_ack_cm_event", a.ack_cm_event, error);
  Resolve(cm, "rdma_event_str", a.event_str, error);
  if (!error.empty()) {
    error = "rdma-core is too old for fabric-transport: " + error;
    return loaded;
  }
  // Registered pages must not be shared copy-on-write with a forked child (child_process), or the parent's
  // registrations would silently point at the child's copies after a write. Kernels that copy pinned pages at
  // fork (ibv_is_fork_initialized() == IBV_FORK_UNNEEDED) need nothing. Otherwise ibv_fork_init() marks
  // registered pages MADV_DONTFORK, which also hides whatever else shares those pages from the child.
  auto is_fork_initialized = reinterpret_cast<int (*)()>(dlsym(verbs, "ibv_is_fork_initialized"));
  const int kForkUnneeded = 2;
  if (is_fork_initialized != nullptr && is_fork_initialized() == kForkUnneeded) {
    a.fork_safety = "kernel";
  } else {
    a.fork_init();
    a.fork_safety = "dontfork";
  }
  loaded.ok = true;
  return loaded;
}

const Loaded& Instance() {
  static const Loaded loaded = LoadAll();
  return loaded;
}

}  // namespace

const RdmaApi* Rdma() { return Instance().ok ? &Instance().api : nullptr; }

const std::string& LoadError() { return Instance().error; }

}  // namespace fabric
