// Lightning's use_distributed_sampler: in a DDP run each rank reads its own share of every
// map-style loader, through a DistributedSampler put in place of the loader's default one
// (Lightning's _process_dataloader / _get_distributed_sampler).
#include <string>

#include "fulgur/data/distributed_sampler.h"
#include "fulgur/kernels/error.h"
#include "fulgur/trainer/seed.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning {

namespace {

// Lightning's UnrepeatedDistributedSampler, for predict: every sample exactly once over all
// ranks (rank r reads r, r + W, ...), so ranks may get different counts and nothing is
// predicted twice.
class UnrepeatedDistributedSampler : public data::Sampler {
 public:
  UnrepeatedDistributedSampler(int64_t n, int64_t replicas, int64_t rank) : n_(n), replicas_(replicas), rank_(rank) {}
  std::vector<int64_t> indices() override {
    std::vector<int64_t> out;
    for (int64_t i = rank_; i < n_; i += replicas_) out.push_back(i);
    return out;
  }
  int64_t size() const override { return rank_ < n_ ? (n_ - rank_ + replicas_ - 1) / replicas_ : 0; }

 private:
  int64_t n_, replicas_, rank_;
};

}  // namespace

Loaders Trainer::distributed_loaders(Loaders loaders, const std::string& which) {
  if (!options_.use_distributed_sampler || strategy_->name() != "ddp" || loaders.empty()) return loaders;
  const int64_t world = world_size();
  const int64_t rank = global_rank();
  std::vector<std::shared_ptr<data::DataLoader>> out;
  for (const auto& l : loaders.all()) {
    const data::DataLoaderOptions& o = l->options();
    // Iterable datasets shard themselves (Lightning leaves them alone too); a loader already
    // on a DistributedSampler was prepared by the user or by an earlier call.
    if (l->dataset() == nullptr || dynamic_cast<data::DistributedSampler*>(l->sampler().get()) != nullptr ||
        dynamic_cast<UnrepeatedDistributedSampler*>(l->sampler().get()) != nullptr) {
      out.push_back(l);
      continue;
    }
    FULGUR_CHECK(o.sampler == nullptr && o.batch_sampler == nullptr, "Trainer", "the ", which, " dataloader has a "
                 "custom ", o.sampler ? "sampler" : "batch_sampler", ", which DDP cannot split across the ", world,
                 " processes by itself; hint: pass use_distributed_sampler=false to the Trainer and give the loader a "
                 "data::DistributedSampler({.num_replicas = trainer.world_size(), .rank = trainer.global_rank()}) "
                 "of your own");
    data::DataLoaderOptions sharded = o;
    sharded.shuffle = false;
    if (which == "predict") {
      sharded.sampler = std::make_shared<UnrepeatedDistributedSampler>(l->dataset()->size(), world, rank);
    } else {
      auto sampler = std::make_shared<data::DistributedSampler>(
          l->dataset()->size(),
          data::DistributedSamplerOptions{.num_replicas = world, .rank = rank, .shuffle = o.shuffle,
                                          // Lightning: PL_GLOBAL_SEED (seed_everything), else 0.
                                          .seed = static_cast<uint64_t>(global_seed("Trainer").value_or(0))});
      sharded.sampler = std::move(sampler);
    }
    out.push_back(std::make_shared<data::DataLoader>(l->dataset(), std::move(sharded)));
  }
  return Loaders(std::move(out));
}

// Lightning's _set_sampler_epoch: any train loader's DistributedSampler, the Trainer's or the
// user's, gets the epoch (its shuffle is a function of seed + epoch).
void Trainer::set_train_sampler_epoch() {
  for (const auto& loader : train_loaders_by_user_order_) {
    if (auto* sampler = dynamic_cast<data::DistributedSampler*>(loader->sampler().get())) {
      sampler->set_epoch(current_epoch_);
    }
  }
}

}  // namespace fulgur::lightning
