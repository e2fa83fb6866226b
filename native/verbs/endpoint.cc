#include "verbs/endpoint.h"

#include <arpa/inet.h>
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/loop_callback.h"
#include "common/spin_clock.h"
#include "verbs/cm_events.h"
#include "verbs/memory_region.h"
#include "verbs/rdma_environment.h"

namespace fabric {
namespace {

// One protection domain per device context, for the life of the process: every connection on a device and
// every region registered for it share it, so a region registered once serves all of them. Device contexts
// are the process's (RDMA-CM opens each once), so the domains are too, shared by every worker_thread.
ibv_pd* ProtectionDomain(ibv_context* context) {
  static std::mutex mutex;
  static std::map<ibv_context*, ibv_pd*> domains;
  std::lock_guard<std::mutex> lock(mutex);
  ibv_pd*& pd = domains[context];
  if (pd == nullptr) pd = Rdma()->alloc_pd(context);
  return pd;
}

bool ParseAddress(const std::string& host, int port, sockaddr_storage* out) {
  std::memset(out, 0, sizeof(*out));
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    return true;
  }
  return false;
}

int LocalPort(rdma_cm_id* id) {
  const sockaddr* address = &id->route.addr.src_addr;
  if (address->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(address)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(address)->sin_port);
}

uint64_t Address(const Napi::Value& value) {
  bool lossless = false;
  return value.As<Napi::BigInt>().Uint64Value(&lossless);
}

// A Buffer holding a copy of `bytes`, or nullptr where it cannot be made (the environment is ending).
napi_value Bytes(napi_env env, const std::vector<uint8_t>& bytes) {
  napi_value buffer = nullptr;
  if (napi_create_buffer_copy(env, bytes.size(), bytes.data(), nullptr, &buffer) != napi_ok) return nullptr;
  return buffer;
}

}  // namespace

Napi::Function Endpoint::Define(Napi::Env env) {
  return DefineClass(env, "Endpoint",
                     {
                         InstanceMethod<&Endpoint::Listen>("listen"),
                         InstanceMethod<&Endpoint::Resolve>("resolve"),
                         InstanceMethod<&Endpoint::Setup>("setup"),
                         InstanceMethod<&Endpoint::Connect>("connect"),
                         InstanceMethod<&Endpoint::Accept>("accept"),
                         InstanceMethod<&Endpoint::Reject>("reject"),
                         InstanceMethod<&Endpoint::Disconnect>("disconnect"),
                         InstanceMethod<&Endpoint::Destroy>("destroy"),
                         InstanceMethod<&Endpoint::SetCallback>("setCallback"),
                         InstanceMethod<&Endpoint::DeviceName>("deviceName"),
                         InstanceMethod<&Endpoint::PortNumber>("portNumber"),
                         InstanceMethod<&Endpoint::Register>("register"),
                         InstanceMethod<&Endpoint::PostSend>("postSend"),
                         InstanceMethod<&Endpoint::PostRecv>("postRecv"),
                         InstanceMethod<&Endpoint::PollCompletions>("pollCompletions"),
                     });
}

napi_value Endpoint::Wrap(Napi::Env env, rdma_cm_id* id) {
  napi_value external = nullptr;
  napi_value endpoint = nullptr;
  if (napi_create_external(env, id, nullptr, nullptr, &external) != napi_ok ||
      napi_new_instance(env, RdmaOf(env).endpoint_class.Value(), 1, &external, &endpoint) != napi_ok) {
    return nullptr;
  }
  return endpoint;
}

// new Endpoint(onEvent) creates a cm_id; native code passes an External to wrap an incoming one.
Endpoint::Endpoint(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Endpoint>(info), Resource(Environment::Of(info.Env())) {
  Napi::Env env = info.Env();
  if (info[0].IsExternal()) {
    id_ = info[0].As<Napi::External<rdma_cm_id>>().Data();
  } else {
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    rdma_event_channel* channel = CmChannel(env);
    if (channel == nullptr) return;
    if (Rdma()->create_id(channel, &id_, this, RDMA_PS_TCP) != 0) {
      id_ = nullptr;
      Fail(env, "rdma_create_id", errno);
      return;
    }
  }
  id_->context = this;
  CountId(env, 1);
}

Endpoint::~Endpoint() { Release(); }

// Whether the cm_id still exists (and, with `needs_device`, is bound to a device); throws if not.
bool Endpoint::Usable(Napi::Env env, bool needs_device) {
  if (id_ != nullptr && (!needs_device || id_->verbs != nullptr)) return true;
  Napi::Error::New(env, id_ == nullptr ? "the endpoint is destroyed" : "the endpoint has no device yet")
      .ThrowAsJavaScriptException();
  return false;
}

Napi::Value Endpoint::Fail(Napi::Env env, const char* what, int error) {
  std::string message = std::string(what) + " failed: " + std::strerror(error);
  Napi::Error exception = Napi::Error::New(env, message);
  exception.Set("errno", Napi::Number::New(env, error));
  exception.ThrowAsJavaScriptException();
  return env.Undefined();
}

void Endpoint::Emit(std::initializer_list<napi_value> args) {
  if (callback_.IsEmpty()) return;
  CallFromLoop(Env(), Value(), callback_.Value(), args.size(), args.begin());
}

void Endpoint::OnCmEvent(const CmEvent& event) {
  Napi::Env env = Env();
  const RdmaApi* rdma = Rdma();
  switch (event.type) {
    case RDMA_CM_EVENT_ADDR_RESOLVED:
      if (rdma->resolve_route(id_, route_timeout_ms_) != 0) {
        Emit({Napi::String::New(env, "error"), Napi::String::New(env, "rdma_resolve_route failed")});
      }
      return;
    case RDMA_CM_EVENT_ROUTE_RESOLVED:
      Emit({Napi::String::New(env, "route-resolved")});
      return;
    case RDMA_CM_EVENT_CONNECT_REQUEST: {
      napi_value incoming = Wrap(env, event.id);
      if (incoming == nullptr) {
        // Refused while it is still the listener's; an Endpoint made before the failure owns it (and the
        // environment's end releases it).
        if (event.id->context == this) {
          rdma->reject(event.id, nullptr, 0);
          rdma->destroy_id(event.id);
        }
        return;
      }
      Emit({Napi::String::New(env, "connect-request"), incoming, Bytes(env, event.private_data)});
      return;
    }
    case RDMA_CM_EVENT_ESTABLISHED:
      Emit({Napi::String::New(env, "established"), Bytes(env, event.private_data)});
      return;
    case RDMA_CM_EVENT_DISCONNECTED:
    case RDMA_CM_EVENT_DEVICE_REMOVAL:
    case RDMA_CM_EVENT_TIMEWAIT_EXIT:
      // The CQ's own descriptor may not have been polled yet: what arrived before the disconnect goes first.
      if (cq_ != nullptr) DrainCompletions();
      Emit({Napi::String::New(env, "disconnected"), Napi::String::New(env, rdma->event_str(event.type))});
      return;
    case RDMA_CM_EVENT_REJECTED:
      Emit({Napi::String::New(env, "rejected"), Napi::Number::New(env, event.status),
            Bytes(env, event.private_data)});
      return;
    default:
      // ADDR_ERROR, ROUTE_ERROR, UNREACHABLE, CONNECT_ERROR...: the name and status say which.
      Emit({Napi::String::New(env, "error"), Napi::String::New(env, rdma->event_str(event.type)),
            Napi::Number::New(env, event.status)});
  }
}

Napi::Value Endpoint::SetCallback(const Napi::CallbackInfo& info) {
  callback_ = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// listen(host, port, backlog) -> the bound port
Napi::Value Endpoint::Listen(const Napi::CallbackInfo& info) {
  if (!Usable(info.Env(), false)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  sockaddr_storage address;
  if (!ParseAddress(info[0].As<Napi::String>(), info[1].As<Napi::Number>().Int32Value(), &address)) {
    Napi::TypeError::New(env, "listen needs a numeric IP address").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (Rdma()->bind_addr(id_, reinterpret_cast<sockaddr*>(&address)) != 0)
    return Fail(env, "rdma_bind_addr", errno);
  if (Rdma()->listen(id_, info[2].As<Napi::Number>().Int32Value()) != 0)
    return Fail(env, "rdma_listen", errno);
  return Napi::Number::New(env, LocalPort(id_));
}

// resolve(host, port, timeoutMs, sourceHost?): address then route resolution; 'route-resolved' or 'error'
// follows. A source address picks the local device and GID (FABRIC_GID_INDEX); otherwise RDMA-CM does.
Napi::Value Endpoint::Resolve(const Napi::CallbackInfo& info) {
  if (!Usable(info.Env(), false)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  sockaddr_storage address;
  sockaddr_storage source;
  const bool has_source = info[3].IsString();
  if (!ParseAddress(info[0].As<Napi::String>(), info[1].As<Napi::Number>().Int32Value(), &address) ||
      (has_source && !ParseAddress(info[3].As<Napi::String>(), 0, &source))) {
    Napi::TypeError::New(env, "resolve needs numeric IP addresses").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  route_timeout_ms_ = info[2].As<Napi::Number>().Int32Value();
  sockaddr* from = has_source ? reinterpret_cast<sockaddr*>(&source) : nullptr;
  if (Rdma()->resolve_addr(id_, from, reinterpret_cast<sockaddr*>(&address), route_timeout_ms_) != 0) {
    Fail(env, "rdma_resolve_addr", errno);
  }
  return env.Undefined();
}

// setup(sendDepth, recvDepth, maxInline): the completion channel, CQ and RC queue pair on the id's device.
Napi::Value Endpoint::Setup(const Napi::CallbackInfo& info) {
  if (!Usable(info.Env(), true)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  const RdmaApi* rdma = Rdma();
  const uint32_t send_depth = info[0].As<Napi::Number>().Uint32Value();
  const uint32_t recv_depth = info[1].As<Napi::Number>().Uint32Value();
  ibv_pd* pd = ProtectionDomain(id_->verbs);
  if (pd == nullptr) return Fail(env, "ibv_alloc_pd", errno);
  channel_ = rdma->create_comp_channel(id_->verbs);
  if (channel_ == nullptr) return Fail(env, "ibv_create_comp_channel", errno);
  fcntl(channel_->fd, F_SETFL, fcntl(channel_->fd, F_GETFL) | O_NONBLOCK);
  cq_ = rdma->create_cq(id_->verbs, static_cast<int>(send_depth + recv_depth), nullptr, channel_, 0);
  if (cq_ == nullptr) return Fail(env, "ibv_create_cq", errno);
  ibv_qp_init_attr attr{};
  attr.send_cq = cq_;
  attr.recv_cq = cq_;
  attr.qp_type = IBV_QPT_RC;
  attr.cap.max_send_wr = send_depth;
  attr.cap.max_recv_wr = recv_depth;
  attr.cap.max_send_sge = 1;
  attr.cap.max_recv_sge = 1;
  attr.cap.max_inline_data = info[2].As<Napi::Number>().Uint32Value();
  if (rdma->create_qp(id_, pd, &attr) != 0) return Fail(env, "rdma_create_qp", errno);
  ibv_req_notify_cq(cq_, 0);
  cq_watcher_ = std::make_unique<FdWatcher>(*environment(), channel_->fd, [this] { DrainCompletions(); });
  return Napi::Number::New(env, attr.cap.max_inline_data);
}

// Appends every completion waiting on the CQ to `out` as [wrId, status, opcode, byteLength].
void Endpoint::CollectCompletions(std::vector<uint32_t>* out) {
  ibv_wc wc[32];
  int n;
  while ((n = ibv_poll_cq(cq_, 32, wc)) > 0) {
    for (int i = 0; i < n; i++) {
      out->insert(out->end(), {static_cast<uint32_t>(wc[i].wr_id), static_cast<uint32_t>(wc[i].status),
                               static_cast<uint32_t>(wc[i].opcode), wc[i].byte_len});
    }
  }
}

// The completions as a Uint32Array, or nullptr where it cannot be made (the environment is ending).
napi_value Endpoint::CompletionArray(napi_env env, const std::vector<uint32_t>& completions) {
  const size_t bytes = completions.size() * sizeof(uint32_t);
  void* data = nullptr;
  napi_value buffer = nullptr;
  napi_value array = nullptr;
  if (napi_create_arraybuffer(env, bytes, &data, &buffer) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, completions.size(), buffer, 0, &array) != napi_ok) {
    return nullptr;
  }
  if (bytes > 0) std::memcpy(data, completions.data(), bytes);
  return array;
}

// Drain, arm, drain again: a completion that lands between the last poll and the arm is never missed.
void Endpoint::DrainCompletions() {
  const RdmaApi* rdma = Rdma();
  ibv_cq* event_cq = nullptr;
  void* context = nullptr;
  while (rdma->get_cq_event(channel_, &event_cq, &context) == 0) unacked_events_++;
  if (unacked_events_ > 0) {
    rdma->ack_cq_events(cq_, unacked_events_);
    unacked_events_ = 0;
  }
  std::vector<uint32_t> out;
  CollectCompletions(&out);
  ibv_req_notify_cq(cq_, 0);
  CollectCompletions(&out);
  if (out.empty()) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Emit({Napi::String::New(env, "completions"), CompletionArray(env, out)});
}

// pollCompletions(spinMicros): busy-polls the CQ until something completes or spinMicros pass, and returns
// the completions (possibly none) to the caller instead of through the callback. The CQ stays armed, so an
// event for a completion taken here finds nothing to drain.
Napi::Value Endpoint::PollCompletions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<uint32_t> out;
  if (cq_ == nullptr) return Napi::Value(env, CompletionArray(env, out));
  const SpinDeadline deadline(info[0].As<Napi::Number>().DoubleValue());
  do {
    CollectCompletions(&out);
  } while (out.empty() && !deadline.Passed());
  return Napi::Value(env, CompletionArray(env, out));
}

// Connection parameters with the caller's private data. Receives are pre-posted under credit-based flow
// control, so a receiver-not-ready never happens between correct peers; a finite retry count (7 would mean
// forever) turns a peer that stops receiving into an error instead of a stalled queue pair.
static rdma_conn_param ConnectionParameters(const Napi::Uint8Array& data) {
  rdma_conn_param param{};
  param.private_data = data.Data();
  param.private_data_len = static_cast<uint8_t>(data.ByteLength());
  param.responder_resources = 16;
  param.initiator_depth = 16;
  param.retry_count = 7;
  param.rnr_retry_count = 6;
  return param;
}

// connect(privateData)
Napi::Value Endpoint::Connect(const Napi::CallbackInfo& info) {
  if (!Usable(info.Env(), true)) return info.Env().Undefined();
  rdma_conn_param param = ConnectionParameters(info[0].As<Napi::Uint8Array>());
  if (Rdma()->connect(id_, &param) != 0) Fail(info.Env(), "rdma_connect", errno);
  return info.Env().Undefined();
}

// accept(privateData)
Napi::Value Endpoint::Accept(const Napi::CallbackInfo& info) {
  if (!Usable(info.Env(), true)) return info.Env().Undefined();
  rdma_conn_param param = ConnectionParameters(info[0].As<Napi::Uint8Array>());
  if (Rdma()->accept(id_, &param) != 0) Fail(info.Env(), "rdma_accept", errno);
  return info.Env().Undefined();
}

Napi::Value Endpoint::Reject(const Napi::CallbackInfo& info) {
  if (id_ == nullptr) return info.Env().Undefined();
  if (info.Length() > 0 && info[0].IsTypedArray()) {
    Napi::Uint8Array reason = info[0].As<Napi::Uint8Array>();
    Rdma()->reject(id_, reason.Data(), static_cast<uint8_t>(std::min<size_t>(reason.ByteLength(), 148)));
  } else {
    Rdma()->reject(id_, nullptr, 0);
  }
  return info.Env().Undefined();
}

Napi::Value Endpoint::Disconnect(const Napi::CallbackInfo& info) {
  if (id_ != nullptr) Rdma()->disconnect(id_);
  return info.Env().Undefined();
}

Napi::Value Endpoint::Destroy(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

void Endpoint::Release() {
  const RdmaApi* rdma = Rdma();
  cq_watcher_.reset();
  if (id_ != nullptr && id_->qp != nullptr) rdma->destroy_qp(id_);
  if (cq_ != nullptr) {
    if (unacked_events_ > 0) rdma->ack_cq_events(cq_, unacked_events_);
    rdma->destroy_cq(cq_);
    cq_ = nullptr;
  }
  if (channel_ != nullptr) {
    rdma->destroy_comp_channel(channel_);
    channel_ = nullptr;
  }
  if (id_ != nullptr) {
    id_->context = nullptr;
    rdma->destroy_id(id_);
    id_ = nullptr;
    CountId(Env(), -1);
  }
  callback_.Reset();
}

Napi::Value Endpoint::DeviceName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (id_ == nullptr || id_->verbs == nullptr) return env.Undefined();
  return Napi::String::New(env, id_->verbs->device->name);
}

Napi::Value Endpoint::PortNumber(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (id_ == nullptr || id_->verbs == nullptr) return env.Undefined();
  return Napi::Number::New(env, id_->port_num);
}

// register(view, accessFlags) -> MemoryRegion on this endpoint's device
Napi::Value Endpoint::Register(const Napi::CallbackInfo& info) {
  if (!Usable(info.Env(), true)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  // The view's own data pointer: unlike view.ArrayBuffer(), it also works for a SharedArrayBuffer.
  Napi::Uint8Array view = info[0].As<Napi::Uint8Array>();
  ibv_pd* pd = ProtectionDomain(id_->verbs);
  if (pd == nullptr) return Fail(env, "ibv_alloc_pd", errno);
  ibv_mr* mr = Rdma()->reg_mr(pd, view.Data(), view.ByteLength(), info[1].As<Napi::Number>().Int32Value());
  if (mr == nullptr) {
    const int error = errno;
    if (error == ENOMEM || error == EPERM) {
      Napi::Error exception = Napi::Error::New(
          env,
          "ibv_reg_mr could not pin the memory: the locked-memory limit is too low; raise it with "
          "`ulimit -l unlimited` (or LimitMEMLOCK= for a systemd service, memlock in limits.conf)");
      exception.Set("errno", Napi::Number::New(env, error));
      exception.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Fail(env, "ibv_reg_mr", error);
  }
  Napi::Object region = RdmaOf(env).memory_region_class.New({});
  // Empty where JS can no longer run (a worker being terminated meanwhile): the MR must not outlive this.
  MemoryRegion* wrapped = region.IsEmpty() ? nullptr : MemoryRegion::Unwrap(region);
  if (wrapped == nullptr) {
    Rdma()->dereg_mr(mr);
    return env.Undefined();
  }
  wrapped->Attach(mr, view);
  region.Set("lkey", Napi::Number::New(env, mr->lkey));
  region.Set("rkey", Napi::Number::New(env, mr->rkey));
  region.Set("address", Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(mr->addr))));
  return region;
}

// postSend(wrId, opcode 0 send | 1 write | 2 read, address, length, lkey, remoteAddress, rkey, flags) ->
// errno
Napi::Value Endpoint::PostSend(const Napi::CallbackInfo& info) {
  static const ibv_wr_opcode kOpcodes[] = {IBV_WR_SEND, IBV_WR_RDMA_WRITE, IBV_WR_RDMA_READ};
  ibv_sge sge{};
  sge.addr = Address(info[2]);
  sge.length = info[3].As<Napi::Number>().Uint32Value();
  sge.lkey = info[4].As<Napi::Number>().Uint32Value();
  ibv_send_wr wr{};
  ibv_send_wr* bad = nullptr;
  wr.wr_id = info[0].As<Napi::Number>().Uint32Value();
  wr.opcode = kOpcodes[info[1].As<Napi::Number>().Uint32Value() % 3];
  wr.sg_list = &sge;
  wr.num_sge = sge.length > 0 ? 1 : 0;
  wr.wr.rdma.remote_addr = Address(info[5]);
  wr.wr.rdma.rkey = info[6].As<Napi::Number>().Uint32Value();
  wr.send_flags = info[7].As<Napi::Number>().Uint32Value();
  const int error = id_ == nullptr || id_->qp == nullptr ? ENOTCONN : ibv_post_send(id_->qp, &wr, &bad);
  return Napi::Number::New(info.Env(), error);
}

// postRecv(wrId, address, length, lkey) -> errno
Napi::Value Endpoint::PostRecv(const Napi::CallbackInfo& info) {
  ibv_sge sge{};
  sge.addr = Address(info[1]);
  sge.length = info[2].As<Napi::Number>().Uint32Value();
  sge.lkey = info[3].As<Napi::Number>().Uint32Value();
  ibv_recv_wr wr{};
  ibv_recv_wr* bad = nullptr;
  wr.wr_id = info[0].As<Napi::Number>().Uint32Value();
  wr.sg_list = &sge;
  wr.num_sge = 1;
  const int error = id_ == nullptr || id_->qp == nullptr ? ENOTCONN : ibv_post_recv(id_->qp, &wr, &bad);
  return Napi::Number::New(info.Env(), error);
}

}  // namespace fabric
