// SPDX-License-Identifier: MIT
// A move-only callable (C++17 has no std::move_only_function): what crosses OS threads into a loop.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace lasio {

template <class Signature>
class unique_function;

/**
 * Holds any callable that may only be moved, so a task can own what it carries (an encoded
 * value, a unique_ptr) and that payload is destroyed exactly once: by the task's call site,
 * or wherever the task is dropped unrun.
 */
template <class R, class... Args>
class unique_function<R(Args...)> {
public:
    unique_function() = default;
    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, unique_function>>>
    unique_function(F&& f) : impl_(new model<std::decay_t<F>>(std::forward<F>(f))) {}

    explicit operator bool() const { return impl_ != nullptr; }
    R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }

private:
    struct concept_ {
        virtual ~concept_() = default;
        virtual R call(Args... args) = 0;
    };
    template <class F>
    struct model final : concept_ {
        explicit model(F&& f) : f_(std::move(f)) {}
        explicit model(const F& f) : f_(f) {}
        R call(Args... args) override { return f_(std::forward<Args>(args)...); }
        F f_;
    };
    std::unique_ptr<concept_> impl_;
};

} // namespace lasio
