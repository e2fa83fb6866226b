#include "verbs/cm_events.h"

#include <fcntl.h>

#include "verbs/endpoint.h"
#include "verbs/rdma_environment.h"

namespace fabric {
namespace {

void Dispatch(Napi::Env env, rdma_event_channel* channel) {
  const RdmaApi* rdma = Rdma();
  rdma_cm_event* event = nullptr;
  while (rdma->get_cm_event(channel, &event) == 0) {
    // Copied and acknowledged before JS runs: JS may destroy the id, which waits for its events' acks.
    CmEvent copy{event->event, event->status, event->id, {}};
    const rdma_conn_param& conn = event->param.conn;
    if (conn.private_data != nullptr) {
      const auto* bytes = static_cast<const uint8_t*>(conn.private_data);
      copy.private_data.assign(bytes, bytes + conn.private_data_len);
    }
    // A connection request arrives on a new id; its listener owns the event.
    rdma_cm_id* owner = event->event == RDMA_CM_EVENT_CONNECT_REQUEST ? event->listen_id : event->id;
    rdma->ack_cm_event(event);
    auto* endpoint = owner != nullptr ? static_cast<Endpoint*>(owner->context) : nullptr;
    if (endpoint != nullptr) {
      Napi::HandleScope scope(env);
      endpoint->OnCmEvent(copy);
    } else if (copy.type == RDMA_CM_EVENT_CONNECT_REQUEST) {
      rdma->reject(copy.id, nullptr, 0);
      rdma->destroy_id(copy.id);
    }
  }
}

}  // namespace

void RdmaEnvironment::Release() {
  cm_watcher.reset();
  if (cm_channel != nullptr) Rdma()->destroy_event_channel(cm_channel);
  cm_channel = nullptr;
  endpoint_class.Reset();
  memory_region_class.Reset();
}

rdma_event_channel* CmChannel(Napi::Env env) {
  RdmaEnvironment& data = RdmaOf(env);
  if (data.cm_channel != nullptr) return data.cm_channel;
  rdma_event_channel* channel = Rdma()->create_event_channel();
  if (channel == nullptr) {
    Napi::Error::New(env, "cannot create an RDMA-CM event channel: is /dev/infiniband/rdma_cm accessible?")
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  fcntl(channel->fd, F_SETFL, fcntl(channel->fd, F_GETFL) | O_NONBLOCK);
  data.cm_channel = channel;
  data.cm_watcher =
      std::make_unique<FdWatcher>(data.environment, channel->fd, [env, channel] { Dispatch(env, channel); });
  data.cm_watcher->KeepAlive(data.live_ids > 0);
  return channel;
}

void CountId(Napi::Env env, int delta) {
  RdmaEnvironment& data = RdmaOf(env);
  data.live_ids += delta;
  if (data.cm_watcher) data.cm_watcher->KeepAlive(data.live_ids > 0);
}

}  // namespace fabric
