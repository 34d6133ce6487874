import DefaultTheme from 'vitepress/theme';
import { h } from 'vue';
import VersionSwitcher from './VersionSwitcher.vue';

export default {
  extends: DefaultTheme,
  Layout: () => h(DefaultTheme.Layout, null, { 'nav-bar-content-after': () => h(VersionSwitcher) }),
};
