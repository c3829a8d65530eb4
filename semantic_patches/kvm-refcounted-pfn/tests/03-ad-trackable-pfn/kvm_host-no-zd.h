// A header that does not declare kvm_is_zone_device_pfn(): the helper's body
// could not compile here, so nothing is added.
bool kvm_is_reserved_pfn(kvm_pfn_t pfn);
bool kvm_is_transparent_hugepage(kvm_pfn_t pfn);
